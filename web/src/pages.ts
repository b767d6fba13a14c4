// What a page of the app is, for the router and the navigation.
import type { AnyComponent } from 'preact';

export interface ConsolePage {
  /** Under /console: '/console/users', '/console/users/:id'. */
  path: string;
  /** The navigation's link text; a page without one (a detail page) is routed but not linked. */
  label?: string;
  /** The right a person needs to see and use it: manageUsers, rechargeCredit, managePayments, manageVouchers, manageSettings or admin. */
  right: string;
  component: AnyComponent<{ params: Record<string, string> }>;
}
