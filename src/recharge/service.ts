// Recharge providers and payments, read side: the providers' directory, whether each is enabled,
// payments and their lists, the payments-versus-ledger check, and the sweeper's pass over overdue
// payments. Every change is a command (commands.ts).
import { SWEEPER_ACTOR } from '../auth/principal.js';
import type { Clock } from '../clock.js';
import type { CommandPipeline } from '../commands/pipeline.js';
import type { Db } from '../db/index.js';
import { notFound } from '../errors.js';
import { TtlCache } from '../ttl-cache.js';

import type { RechargeProvider } from './providers.js';
import * as store from './store.js';

/** Most overdue payments expired per sweep; the sweeper loops until none is left. */
const SWEEP_BATCH = 500;

export class RechargeService {
  private readonly providers = new Map<string, RechargeProvider>();
  /** Provider on/off, for the providers list; forgotten whenever a provider event commits, in any process. */
  private readonly enabled: TtlCache<string, boolean>;

  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly pipeline: CommandPipeline,
  ) {
    this.enabled = new TtlCache(clock);
    pipeline.invalidateOn(/^provider\./, () => {
      this.enabled.clear();
    });
  }

  register(provider: RechargeProvider): void {
    if (this.providers.has(provider.reference)) throw new Error(`provider ${provider.reference} registered twice`);
    this.providers.set(provider.reference, provider);
  }

  references(): string[] {
    return [...this.providers.keys()];
  }

  provider(reference: string): RechargeProvider {
    const provider = this.providers.get(reference);
    if (provider === undefined) throw notFound(`no recharge provider "${reference}"`);
    return provider;
  }

  async isEnabled(reference: string): Promise<boolean> {
    const cached = this.enabled.get(reference);
    if (cached !== undefined) return cached;
    const row = await this.db.read((q) => store.providerEnabled(q, reference));
    const enabled = row === undefined || row.enabled === 1;
    this.enabled.set(reference, enabled);
    return enabled;
  }

  async listProviders(includeDisabled: boolean): Promise<{ provider: RechargeProvider; enabled: boolean }[]> {
    const all = await Promise.all([...this.providers.values()].map(async (provider) => ({ provider, enabled: await this.isEnabled(provider.reference) })));
    return all.filter((p) => includeDisabled || p.enabled);
  }

  /** Expires every overdue payment (releasing what it held), one command each; returns how many. */
  async expireOverdue(): Promise<number> {
    let total = 0;
    for (;;) {
      const due = await this.db.read((q) => store.overdue(q, this.clock.nowMs(), SWEEP_BATCH));
      for (const payment of due) {
        const { outcome } = await this.pipeline.execute({ name: 'payment.expire', input: { reference: payment.provider, id: payment.id }, actor: SWEEPER_ACTOR, atMs: this.clock.nowMs() });
        if (outcome.ok && outcome.value !== null) total++;
      }
      if (due.length < SWEEP_BATCH) return total;
    }
  }

  async get(reference: string, id: number): Promise<store.PaymentRow> {
    this.provider(reference);
    const row = await this.db.read((q) => store.getPayment(q, reference, id));
    if (row === undefined) throw notFound(`payment ${id} not found`);
    return row;
  }

  async list(reference: string, filter: store.PaymentFilter, limit = 100, start = 0): Promise<{ rows: store.PaymentRow[]; count: number }> {
    this.provider(reference);
    return store.listPayments(this.db, reference, filter, limit, start);
  }

  /** Payments and ledger agree: every commit posted once with its amount, nothing else posted. */
  async verify(): Promise<string[]> {
    return this.db.read(async (q) => [
      ...(await store.unpostedCommits(q)).map((p) => `payment ${p.id}: committed but its ledger transaction is missing or wrong`),
      ...(await store.postedNonCommits(q)).map((p) => `payment ${p.id}: ${p.state} but has a ledger transaction`),
    ]);
  }
}
