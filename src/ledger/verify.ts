// `purse ledger verify` and POST /v3/ledger/verify run the same checks: the ledger's own (every
// transaction balances, every balance matches its postings), the recharge payments' and the holds'.
import type { RechargeService } from '../recharge/service.js';
import type { SpendingService } from '../spending/service.js';

import type { LedgerService } from './service.js';

export interface Books {
  ledger: LedgerService;
  recharge: RechargeService;
  spending: SpendingService;
}

/** Every problem found, in words; none when the books are sound. */
export async function verifyBooks({ ledger, recharge, spending }: Books): Promise<string[]> {
  return [...(await ledger.verify()), ...(await recharge.verify()), ...(await spending.verify())];
}
