// The administrator console's pages: each entry is one route of the app and one link in the
// console's navigation, shown (and routed) only to a person holding its right (admin holds all).
// Add a page here; the shell (web/src/app.tsx, web/src/layout.tsx) does the rest. A fixed path
// ('/console/users/new') comes before the pattern it would match ('/console/users/:id').
import type { ConsolePage } from '../pages';

import { AuditPage } from './audit';
import { ClientsPage } from './clients';
import { BulkPage, CreditPage, PursePage } from './credit';
import { LedgerPage } from './ledger';
import { PaymentPage, PaymentsPage, ReconciliationPage } from './payments';
import { ProvidersPage } from './providers';
import { NewUserPage, UserPage, UsersPage } from './users';
import { VouchersPage } from './vouchers';
import { WebhookPage, WebhooksPage } from './webhooks';

export const CONSOLE_PAGES: ConsolePage[] = [
  { path: '/console/users', label: 'People', right: 'manageUsers', component: UsersPage },
  { path: '/console/users/new', right: 'manageUsers', component: NewUserPage },
  { path: '/console/users/:id', right: 'manageUsers', component: UserPage },
  { path: '/console/credit', label: 'Credit', right: 'rechargeCredit', component: CreditPage },
  { path: '/console/credit/bulk', label: 'Bulk recharge', right: 'rechargeCredit', component: BulkPage },
  { path: '/console/credit/:id', right: 'rechargeCredit', component: PursePage },
  { path: '/console/vouchers', label: 'Vouchers', right: 'manageVouchers', component: VouchersPage },
  { path: '/console/payments', label: 'Payments', right: 'managePayments', component: PaymentsPage },
  { path: '/console/payments/:id', right: 'managePayments', component: PaymentPage },
  { path: '/console/reconciliation', label: 'Reconciliation', right: 'managePayments', component: ReconciliationPage },
  { path: '/console/providers', label: 'Providers', right: 'manageSettings', component: ProvidersPage },
  { path: '/console/clients', label: 'API clients', right: 'manageSettings', component: ClientsPage },
  { path: '/console/webhooks', label: 'Webhooks', right: 'manageSettings', component: WebhooksPage },
  { path: '/console/webhooks/:id', right: 'manageSettings', component: WebhookPage },
  // The API lets only administrators read the audit trail and verify the ledger.
  { path: '/console/audit', label: 'Audit trail', right: 'admin', component: AuditPage },
  { path: '/console/ledger', label: 'Ledger check', right: 'admin', component: LedgerPage },
];
