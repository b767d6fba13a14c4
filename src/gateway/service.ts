// The payment gateway, read side: payments, refunds, and reconciliation against the ledger. Every
// change is a command (commands.ts).
import type { Db } from '../db/index.js';
import { notFound } from '../errors.js';

import * as store from './store.js';

export class GatewayService {
  constructor(
    private readonly db: Db,
    readonly currency: string,
  ) {}

  async get(paymentId: string): Promise<store.GatewayPaymentRow> {
    const row = await this.db.read((q) => store.getPayment(q, paymentId));
    if (row === undefined) throw notFound('payment not found');
    return row;
  }

  list(filter: store.PaymentFilter, limit = 100, offset = 0): Promise<store.GatewayPaymentRow[]> {
    return this.db.read((q) => store.listPayments(q, filter, limit, offset));
  }

  async getRefund(refundId: string): Promise<store.RefundRow> {
    const row = await this.db.read((q) => store.getRefund(q, refundId));
    if (row === undefined) throw notFound('refund not found');
    return row;
  }

  listRefunds(filter: { paymentId?: string; refundId?: string }, limit = 100, offset = 0): Promise<store.RefundRow[]> {
    return this.db.read((q) => store.listRefunds(q, filter, limit, offset));
  }

  reconcile(): Promise<store.Mismatch[]> {
    return this.db.read((q) => store.mismatches(q));
  }
}
