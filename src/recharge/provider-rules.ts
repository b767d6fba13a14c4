// Which rules each provider's payments follow inside their transactions: a fixed table, so that a
// command script finds them by the payment's provider without being handed any object.
import { gatewayPaymentRules } from '../gateway/recharge-rules.js';
import { voucherPaymentRules } from '../vouchers/recharge-rules.js';

import type { ProviderRules } from './providers.js';

const RULES: Readonly<Record<string, ProviderRules>> = {
  external: {},
  voucher: voucherPaymentRules,
  card: gatewayPaymentRules,
  mbway: gatewayPaymentRules,
};

/** The providers whose self-service payments count towards a person's daily top-up limit. */
export const TOP_UP_LIMITED_PROVIDERS: readonly string[] = Object.keys(RULES).filter((reference) => RULES[reference]?.topUpLimited === true);

export function rulesOf(reference: string): ProviderRules {
  return RULES[reference] ?? {};
}
