// The payment gateway's rules as commands: authorization at
// create, one-shot settlement, voiding, and refunds that never exceed the payment (also
// concurrently) and that take back the credit a payment funded — in the same transaction.
import { actorHasRight, type Actor } from '../auth/principal.js';
import type { Command, CommandDefinition, Effects } from '../commands/types.js';
import type { ReadTx, Tx } from '../db/index.js';
import { conflict, forbidden, invalid, notFound } from '../errors.js';
import { InsufficientCredit, postCredit } from '../ledger/postings.js';
import { moneyText, positiveMinor, toMinor } from '../money.js';
import { parseDateTime } from '../time.js';

import { authorize, insertAuthorized, newGatewayId, PROVIDER_OF, type Authorization } from './authorization.js';
import type { PaymentMethod } from './card.js';
import * as store from './store.js';
import { gatewayPaymentView, refundView } from './views.js';

export interface CreateInput {
  amount: unknown;
  payment_method: string;
  additional_params?: Record<string, unknown>;
}

export interface UpdateInput {
  paymentId: string;
  amount?: unknown;
  payment_method?: string;
  additional_params?: Record<string, unknown>;
  settled_at?: string | null;
  settled_amount?: unknown;
}

declare module '../commands/types.js' {
  interface CommandMap {
    'gateway.createPayment': { input: CreateInput; output: store.GatewayPaymentRow };
    'gateway.updatePayment': { input: UpdateInput; output: store.GatewayPaymentRow };
    'gateway.voidPayment': { input: { paymentId: string }; output: store.GatewayPaymentRow };
    'gateway.settleBefore': { input: { cutoffMs: number }; output: { count: number } };
    'gateway.refund': { input: { paymentId: string; amount: unknown }; output: store.RefundRow };
  }
}

interface Settlement {
  atMs: number;
  amountMinor: number;
}

interface PreparedUpdate {
  amountMinor?: number;
  settlement: Settlement | null;
}

type GatewayCommand = Command<'gateway.createPayment' | 'gateway.updatePayment' | 'gateway.voidPayment' | 'gateway.settleBefore' | 'gateway.refund'>;

async function authorizeGateway(_q: ReadTx, { actor }: GatewayCommand): Promise<void> {
  if (!actorHasRight(actor, 'managePayments')) throw forbidden('this needs the right "managePayments"');
}

export function gatewayCommands(currency: string, maxAmountMinor: number): {
  create: CommandDefinition<'gateway.createPayment', Authorization>;
  update: CommandDefinition<'gateway.updatePayment', PreparedUpdate>;
  void: CommandDefinition<'gateway.voidPayment'>;
  settleBefore: CommandDefinition<'gateway.settleBefore'>;
  refund: CommandDefinition<'gateway.refund', { amountMinor: number }>;
} {
  const left = (minor: number): string => moneyText(minor, currency);
  return {
    create: {
      name: 'gateway.createPayment',
      prepare: async ({ input, atMs }) => {
        const method = paymentMethod(input.payment_method);
        const amountMinor = positiveMinor(input.amount, currency, 'amount', maxAmountMinor);
        const params = input.additional_params ?? {};
        assertParamsAgree(params, amountMinor, method, currency);
        return authorize(method, params, 'additional_params', { amountMinor, currency, atMs });
      },
      authorize: authorizeGateway,
      run: async (tx, { atMs }, auth, effects) => {
        const row = await insertAuthorized(tx, auth, null, atMs);
        effects.about(`gatewayPayment:${row.id}`, { status: row.status });
        effects.emit(row.status === 'success' ? 'gateway.payment.authorized' : 'gateway.payment.declined', `gatewayPayment:${row.payment_id}`, gatewayPaymentView(row, true));
        return row;
      },
    },
    update: {
      name: 'gateway.updatePayment',
      prepare: async ({ input }) => ({
        ...(input.amount === undefined ? {} : { amountMinor: positiveMinor(input.amount, currency, 'amount', maxAmountMinor) }),
        settlement: settlementOf(input, currency),
      }),
      authorize: authorizeGateway,
      run: (tx, command, prepared, effects) => updatePayment(tx, command, prepared, effects, currency),
    },
    void: {
      name: 'gateway.voidPayment',
      authorize: authorizeGateway,
      run: voidPayment,
    },
    settleBefore: {
      name: 'gateway.settleBefore',
      authorize: authorizeGateway,
      run: async (tx, { input, atMs }, _prepared, effects) => {
        const settled = await store.settleAllBefore(tx, input.cutoffMs, atMs);
        for (const row of settled) effects.emit('gateway.payment.settled', `gatewayPayment:${row.payment_id}`, gatewayPaymentView(row, true));
        effects.about('gateway', { count: settled.length, cutoffMs: input.cutoffMs });
        return { count: settled.length };
      },
    },
    refund: {
      name: 'gateway.refund',
      prepare: async ({ input }) => ({ amountMinor: positiveMinor(input.amount, currency, 'amount', maxAmountMinor) }),
      authorize: authorizeGateway,
      run: (tx, command, { amountMinor }, effects) => refund(tx, command, amountMinor, effects, left),
    },
  };
}

// ---- the transaction scripts --------------------------------------------------------------------

/** PUT: amount (while nothing touched it), one-shot settlement; the method never changes. */
async function updatePayment(tx: Tx, { input, atMs }: Command<'gateway.updatePayment'>, prepared: PreparedUpdate, effects: Effects, currency: string): Promise<store.GatewayPaymentRow> {
  const row = await store.getPayment(tx, input.paymentId);
  if (row === undefined) throw notFound('payment not found');
  if (input.payment_method !== undefined && input.payment_method !== row.payment_method) {
    throw conflict('payment_method cannot change after authorization', [{ field: 'payment_method', problem: 'cannot change' }]);
  }
  if (input.additional_params !== undefined) assertParamsAgree(input.additional_params, prepared.amountMinor ?? row.amount_minor, row.payment_method, currency);
  if (prepared.amountMinor !== undefined && prepared.amountMinor !== row.amount_minor) await changeAmount(tx, row, prepared.amountMinor, atMs);
  if (prepared.settlement !== null) await settleOne(tx, row, prepared.settlement, atMs);
  const updated = await store.getPayment(tx, input.paymentId);
  if (updated === undefined) throw new Error('payment vanished inside its own transaction');
  effects.about(`gatewayPayment:${row.id}`, { amountMinor: updated.amount_minor, settled: prepared.settlement !== null });
  effects.emit('gateway.payment.updated', `gatewayPayment:${row.payment_id}`, gatewayPaymentView(updated, true));
  if (row.status !== 'settled' && updated.status === 'settled') effects.emit('gateway.payment.settled', `gatewayPayment:${row.payment_id}`, gatewayPaymentView(updated, true));
  return updated;
}

async function changeAmount(tx: Tx, row: store.GatewayPaymentRow, amountMinor: number, atMs: number): Promise<void> {
  if (row.status === 'settled' || row.refunded_minor > 0) throw conflict('the amount of a settled or refunded payment cannot change', [{ field: 'amount', problem: 'cannot change now' }]);
  if (row.recharge_payment_id !== null) throw conflict('the amount of a payment that funds credit cannot change', [{ field: 'amount', problem: 'cannot change' }]);
  if (!(await store.changeAmount(tx, row.payment_id, amountMinor, atMs))) throw conflict(`the amount of a ${row.status} payment cannot change`, [{ field: 'amount', problem: 'cannot change now' }]);
}

async function settleOne(tx: Tx, row: store.GatewayPaymentRow, settlement: Settlement, atMs: number): Promise<void> {
  if (row.status === 'settled') {
    if (row.settled_at_ms === settlement.atMs && row.settled_amount_minor === settlement.amountMinor) return; // the same settlement again
    throw conflict('the payment is already settled; settlement happens once', [{ field: 'settled_at', problem: 'already set' }]);
  }
  if (row.status !== 'success') throw conflict(`a ${row.status} payment cannot be settled`);
  if (row.recharge_payment_id !== null && row.credited_user_id === null) {
    throw conflict(`this payment funds recharge payment ${row.recharge_payment_id}, not yet committed; it can be settled once that is committed`);
  }
  const current = await store.getPayment(tx, row.payment_id);
  const left = (current?.amount_minor ?? row.amount_minor) - (current?.refunded_minor ?? row.refunded_minor);
  if (settlement.amountMinor > left) {
    const most = moneyText(left, row.currency);
    throw invalid(`settled_amount is more than the ${most} left after refunds`, [{ field: 'settled_amount', problem: `at most ${most}` }]);
  }
  if (!(await store.settle(tx, row.payment_id, settlement.atMs, settlement.amountMinor, atMs))) throw conflict('the payment changed meanwhile; try again');
}

/** DELETE: voids an unsettled payment without refunds; the record stays, status `voided`. */
async function voidPayment(tx: Tx, { input, atMs }: Command<'gateway.voidPayment'>, _prepared: undefined, effects: Effects): Promise<store.GatewayPaymentRow> {
  const row = await store.getPayment(tx, input.paymentId);
  if (row === undefined) throw notFound('payment not found');
  if (row.recharge_payment_id !== null) throw conflict(`this payment funds recharge payment ${row.recharge_payment_id}; roll that back, or refund this one`);
  if (row.status === 'voided' || row.status === 'settled') throw conflict(`a ${row.status} payment cannot be voided`);
  if (row.refunded_minor > 0) throw conflict('a refunded payment cannot be voided');
  if (!(await store.voidPayment(tx, input.paymentId, atMs, false))) throw conflict('the payment changed meanwhile; try again');
  const voided = { ...row, status: 'voided' as const, updated_at_ms: atMs };
  effects.about(`gatewayPayment:${row.id}`);
  effects.emit('gateway.payment.voided', `gatewayPayment:${row.payment_id}`, gatewayPaymentView(voided, true));
  return voided;
}

async function refund(tx: Tx, { input, actor, atMs }: Command<'gateway.refund'>, amountMinor: number, effects: Effects, left: (minor: number) => string): Promise<store.RefundRow> {
  const row = await store.getPayment(tx, input.paymentId);
  if (row === undefined) throw notFound('payment not found');
  if (row.status !== 'success' && row.status !== 'settled') throw conflict(`only success or settled payments can be refunded; this one is ${row.status}`);
  if (row.recharge_payment_id !== null && row.credited_user_id === null) throw conflict(`this payment funds recharge payment ${row.recharge_payment_id}, not yet committed; roll that back instead`);
  if (!(await store.addRefund(tx, input.paymentId, amountMinor, atMs))) {
    const fresh = await store.getPayment(tx, input.paymentId);
    const rest = (fresh?.amount_minor ?? 0) - (fresh?.refunded_minor ?? 0);
    throw conflict(`refunds would exceed the payment: ${left(rest)} left to refund`, [{ field: 'amount', problem: `at most ${left(rest)}` }]);
  }
  const transactionId = row.credited_user_id === null ? null : await takeBackCredit(tx, row, row.credited_user_id, amountMinor, actor, atMs);
  const refunded: store.RefundRow = { refund_id: newGatewayId(), payment_id: input.paymentId, amount_minor: amountMinor, ledger_transaction_id: transactionId, created_at_ms: atMs };
  await store.insertRefund(tx, refunded);
  effects.about(`gatewayPayment:${row.id}`, { amountMinor });
  effects.emit('refund.created', `refund:${refunded.refund_id}`, refundView(refunded, row.currency));
  return refunded;
}

/** A refund of money that became credit takes that credit back, or is refused. */
async function takeBackCredit(tx: Tx, row: store.GatewayPaymentRow, userId: number, amountMinor: number, actor: Actor, atMs: number): Promise<number> {
  try {
    const posted = await postCredit(tx, { kind: 'refund', provider: PROVIDER_OF[row.payment_method], paymentId: row.recharge_payment_id, description: 'refund', actor, userId, amountMinor: -amountMinor }, atMs);
    return posted.transactionId;
  } catch (error) {
    if (error instanceof InsufficientCredit) throw conflict(`refund refused: the person's credit balance is too low to take the refunded credit back: ${error.figures}`, [{ field: 'amount', problem: 'more than the credit left' }]);
    throw error;
  }
}

// ---- checks before the transaction --------------------------------------------------------------

function settlementOf(input: UpdateInput, currency: string): Settlement | null {
  const hasAt = input.settled_at !== undefined && input.settled_at !== null;
  const hasAmount = input.settled_amount !== undefined && input.settled_amount !== null;
  if (!hasAt && !hasAmount) return null;
  if (!hasAt || !hasAmount) throw invalid('settled_at and settled_amount go together', [{ field: hasAt ? 'settled_amount' : 'settled_at', problem: 'is required with the other' }]);
  const atMs = parseDateTime(input.settled_at ?? '', 'settled_at');
  const amountMinor = toMinor(input.settled_amount, currency, 'settled_amount');
  if (amountMinor < 0) throw invalid('settled_amount must not be negative', [{ field: 'settled_amount', problem: 'must not be negative' }]);
  return { atMs, amountMinor };
}

function paymentMethod(value: string): PaymentMethod {
  if (value === 'credit_card' || value === 'mbway') return value;
  throw invalid('payment_method must be credit_card or mbway', [{ field: 'payment_method', problem: 'must be credit_card or mbway' }]);
}

/** additional_params.amount and .method, when present, must say what the payment says. */
function assertParamsAgree(params: Record<string, unknown>, amountMinor: number, method: PaymentMethod, currency: string): void {
  if (params.amount !== undefined && toMinor(params.amount, currency, 'additional_params.amount') !== amountMinor) {
    throw invalid('additional_params.amount disagrees with amount', [{ field: 'additional_params.amount', problem: 'must equal amount' }]);
  }
  if (params.method !== undefined && params.method !== method) {
    throw invalid('additional_params.method disagrees with payment_method', [{ field: 'additional_params.method', problem: 'must equal payment_method' }]);
  }
}
