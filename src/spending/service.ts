// Reading spending: charges, their refunds, holds; the sweeper's expiry of overdue holds; the
// checks `ledger verify` adds. What writes is commands.ts, through the pipeline.
import { SWEEPER_ACTOR, type Principal } from '../auth/principal.js';
import type { Clock } from '../clock.js';
import type { CommandPipeline } from '../commands/pipeline.js';
import type { Db, ReadTx } from '../db/index.js';
import { notFound } from '../errors.js';
import { CREDIT_REFERENCE, requireAccount } from '../ledger/postings.js';
import { mayReadCredit } from '../ledger/service.js';

import * as store from './store.js';
import type { HoldState } from './views.js';

/** Overdue holds read per sweep round. */
const SWEEP_BATCH = 500;

export class SpendingService {
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly pipeline: CommandPipeline,
  ) {}

  /** A charge, or 404 — also when the reader may not see it, so that ids reveal nothing. */
  async charge(id: number, principal?: Principal): Promise<store.ChargeRow> {
    const row = await this.db.read((q) => store.getCharge(q, id));
    if (row === undefined || (principal !== undefined && !mayReadCredit(principal, row.user_id))) throw notFound(`charge ${id} not found`);
    return row;
  }

  /** A person's account named in the filter must exist: an empty list would say it does. */
  charges(filter: store.AccountFilter, limit: number, start: number): Promise<{ rows: store.ChargeRow[]; count: number }> {
    return this.db.read(async (q) => {
      await accountNamedIn(q, filter);
      return store.listCharges(q, filter, limit, start);
    });
  }

  async refunds(chargeId: number, principal: Principal): Promise<{ charge: store.ChargeRow; refunds: store.ChargeRefundRow[] }> {
    return this.db.read(async (q) => {
      const charge = await store.getCharge(q, chargeId);
      if (charge === undefined || !mayReadCredit(principal, charge.user_id)) throw notFound(`charge ${chargeId} not found`);
      return { charge, refunds: await store.listChargeRefunds(q, chargeId) };
    });
  }

  async hold(id: number, principal?: Principal): Promise<store.HoldRow> {
    const row = await this.db.read((q) => store.getHold(q, id));
    if (row === undefined || (principal !== undefined && !mayReadCredit(principal, row.user_id))) throw notFound(`hold ${id} not found`);
    return row;
  }

  holds(filter: { userId?: number; reference?: string; state?: HoldState }, limit: number, start: number): Promise<{ rows: store.HoldRow[]; count: number }> {
    return this.db.read(async (q) => {
      await accountNamedIn(q, filter);
      return store.listHolds(q, filter, limit, start);
    });
  }

  /** Holds still open, for /metrics. */
  async openHolds(): Promise<number> {
    return this.db.read(async (q) => (await store.countHeld(q)));
  }

  /** Releases every overdue hold, each in its own command (audited, with its event); returns how many. */
  async expireOverdue(): Promise<number> {
    let total = 0;
    for (;;) {
      const due = await this.db.read((q) => store.overdueHolds(q, this.clock.nowMs(), SWEEP_BATCH));
      for (const { id } of due) {
        const { outcome } = await this.pipeline.execute({ name: 'hold.expire', input: { id }, actor: SWEEPER_ACTOR, atMs: this.clock.nowMs() });
        if (outcome.ok && outcome.value !== null) total++;
      }
      if (due.length < SWEEP_BATCH) return total;
    }
  }

  /** Charges, refunds and transfers agree with the ledger. */
  async verify(): Promise<string[]> {
    const rows = await this.db.read((q) => store.unpostedSpending(q));
    return rows.map((r) => `${r.what} ${r.id}: its ledger transaction is missing or moved another amount`);
  }
}

async function accountNamedIn(q: ReadTx, filter: { userId?: number; reference?: string }): Promise<void> {
  if (filter.userId !== undefined) await requireAccount(q, filter.userId, filter.reference ?? CREDIT_REFERENCE);
}
