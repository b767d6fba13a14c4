// The payment gateway's rules (DESIGN.md "The payment gateway"): authorization at create, card
// data kept as PCI DSS allows, one-shot settlement, voiding, refunds that never exceed the payment
// (also concurrently) and that take back the credit a payment funded — in the same transaction.
import crypto from 'node:crypto';

import { recordAudit } from '../audit.js';
import type { Actor } from '../auth/principal.js';
import type { Clock } from '../clock.js';
import type { Db, Tx } from '../db/index.js';
import { AppError, conflict, invalid, notFound, type ErrorDetail } from '../errors.js';
import type { Afterward } from '../idempotency/plugin.js';
import type { LedgerService } from '../ledger/service.js';
import { toMinor } from '../money.js';
import { parseDateTime } from '../time.js';
import type { PaymentRow as RechargePaymentRow } from '../recharge/store.js';

import { checkCard, checkPhone, DECLINING_CARDS, DECLINING_PHONES, type PaymentMethod, type StoredCard } from './card.js';
import * as store from './store.js';

/** The recharge provider that buys credit with each method, and its system account. */
export const PROVIDER_OF: Readonly<Record<PaymentMethod, string>> = { credit_card: 'card', mbway: 'mbway' };

const ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const ID_LENGTH = 200;

/** 200 random letters and digits, as the original service's ids (spec README). */
export function newGatewayId(): string {
  const out: string[] = [];
  while (out.length < ID_LENGTH) {
    for (const byte of crypto.randomBytes(ID_LENGTH)) {
      if (byte < 248 && out.length < ID_LENGTH) out.push(ID_ALPHABET.charAt(byte % ID_ALPHABET.length)); // 248 = 4 × 62: no modulo bias
    }
  }
  return out.join('');
}

/** A checked payment instrument and the gateway's answer; what may be stored, and nothing else. */
export interface Authorization {
  paymentId: string;
  method: PaymentMethod;
  card: StoredCard | null;
  phone: string | null;
  declineReason: string | null;
}

export interface CreateInput {
  amount: unknown;
  payment_method: string;
  additional_params?: Record<string, unknown>;
}

export interface UpdateInput {
  amount?: unknown;
  payment_method?: string;
  additional_params?: Record<string, unknown>;
  settled_at?: string | null;
  settled_amount?: unknown;
}

export class GatewayService {
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly ledger: LedgerService,
  ) {}

  get currency(): string {
    return this.ledger.currency;
  }

  /**
   * Checks the instrument (Luhn, expiry, CVV shape, name; or a Portuguese mobile number) and
   * decides, deterministically by test number, whether the gateway approves. Throws 400 for bad data.
   */
  authorize(method: PaymentMethod, instrument: Record<string, unknown>, prefix: string): Authorization {
    const paymentId = newGatewayId();
    if (method === 'credit_card') {
      const checked = checkCard(instrument, this.clock.nowMs(), prefix);
      if ('problems' in checked) throw invalidDetails(checked.problems);
      return { paymentId, method, card: checked.card, phone: null, declineReason: DECLINING_CARDS[checked.number] ?? null };
    }
    const checked = checkPhone(instrument.phone_number, `${prefix}.phone_number`);
    if ('problems' in checked) throw invalidDetails(checked.problems);
    return { paymentId, method, card: null, phone: checked.phone, declineReason: DECLINING_PHONES[checked.phone] ?? null };
  }

  /** Stores an authorization as a payment: `success`, or `error` with the decline reason. */
  insertAuthorized(tx: Tx, auth: Authorization, amountMinor: number, rechargePaymentId: number | null, nowMs: number): Promise<store.GatewayPaymentRow> {
    return store.insertPayment(tx, {
      payment_id: auth.paymentId,
      amount_minor: amountMinor,
      currency: this.currency,
      payment_method: auth.method,
      status: auth.declineReason === null ? 'success' : 'error',
      decline_reason: auth.declineReason,
      card_bin: auth.card?.bin ?? null,
      card_last4: auth.card?.last4 ?? null,
      card_length: auth.card?.length ?? null,
      card_name: auth.card?.name ?? null,
      card_exp_month: auth.card?.expMonth ?? null,
      card_exp_year: auth.card?.expYear ?? null,
      phone_number: auth.phone,
      recharge_payment_id: rechargePaymentId,
      created_at_ms: nowMs,
    });
  }

  /** Keeps a declined attempt on record (status `error`), with no recharge behind it. */
  async recordDeclined(auth: Authorization, amountMinor: number, actor: Actor): Promise<void> {
    await this.db.write(async (tx) => {
      const now = this.clock.nowMs();
      const row = await this.insertAuthorized(tx, auth, amountMinor, null, now);
      await recordAudit(tx, actor, { action: 'gateway.decline', subject: `gatewayPayment:${row.id}`, detail: { reason: auth.declineReason ?? '' } }, now);
    });
  }

  // ---- /api/payments ----------------------------------------------------------------------------

  async create(input: CreateInput, actor: Actor, afterward?: Afterward<store.GatewayPaymentRow>): Promise<store.GatewayPaymentRow> {
    const method = paymentMethod(input.payment_method);
    const amountMinor = positiveAmount(input.amount, this.currency, 'amount');
    const params = input.additional_params ?? {};
    assertParamsAgree(params, amountMinor, method, this.currency);
    const auth = this.authorize(method, params, 'additional_params');
    return this.db.write(async (tx) => {
      const now = this.clock.nowMs();
      const row = await this.insertAuthorized(tx, auth, amountMinor, null, now);
      await recordAudit(tx, actor, { action: 'gateway.create', subject: `gatewayPayment:${row.id}`, detail: { status: row.status } }, now);
      await afterward?.(tx, row);
      return row;
    });
  }

  async get(paymentId: string): Promise<store.GatewayPaymentRow> {
    const row = await this.db.read((q) => store.getPayment(q, paymentId));
    if (row === undefined) throw notFound('payment not found');
    return row;
  }

  list(filter: store.PaymentFilter, limit = 100, offset = 0): Promise<store.GatewayPaymentRow[]> {
    return this.db.read((q) => store.listPayments(q, filter, limit, offset));
  }

  /** PUT: amount (while nothing touched it), one-shot settlement; the method never changes. */
  async update(paymentId: string, input: UpdateInput, actor: Actor, afterward?: Afterward<store.GatewayPaymentRow>): Promise<store.GatewayPaymentRow> {
    const current = await this.get(paymentId);
    if (input.payment_method !== undefined && input.payment_method !== current.payment_method) {
      throw conflict('payment_method cannot change after authorization', [{ field: 'payment_method', problem: 'cannot change' }]);
    }
    const amountMinor = input.amount === undefined ? undefined : positiveAmount(input.amount, this.currency, 'amount');
    if (input.additional_params !== undefined) assertParamsAgree(input.additional_params, amountMinor ?? current.amount_minor, current.payment_method, this.currency);
    const settlement = this.settlementOf(input);
    return this.db.write(async (tx) => {
      const now = this.clock.nowMs();
      const row = await store.getPayment(tx, paymentId);
      if (row === undefined) throw notFound('payment not found');
      if (amountMinor !== undefined && amountMinor !== row.amount_minor) await this.changeAmount(tx, row, amountMinor, now);
      if (settlement !== null) await this.settleOne(tx, row, settlement, now);
      await recordAudit(tx, actor, { action: 'gateway.update', subject: `gatewayPayment:${row.id}`, detail: { amountMinor: amountMinor ?? row.amount_minor, settled: settlement !== null } }, now);
      const updated = await store.getPayment(tx, paymentId);
      if (updated === undefined) throw new Error('payment vanished inside its own transaction');
      await afterward?.(tx, updated);
      return updated;
    });
  }

  private async changeAmount(tx: Tx, row: store.GatewayPaymentRow, amountMinor: number, nowMs: number): Promise<void> {
    if (row.status === 'settled' || row.refunded_minor > 0) throw conflict('the amount of a settled or refunded payment cannot change', [{ field: 'amount', problem: 'cannot change now' }]);
    if (row.recharge_payment_id !== null) throw conflict('the amount of a payment that funds credit cannot change', [{ field: 'amount', problem: 'cannot change' }]);
    if (!(await store.changeAmount(tx, row.payment_id, amountMinor, nowMs))) throw conflict(`the amount of a ${row.status} payment cannot change`, [{ field: 'amount', problem: 'cannot change now' }]);
  }

  private settlementOf(input: UpdateInput): { atMs: number; amountMinor: number } | null {
    const hasAt = input.settled_at !== undefined && input.settled_at !== null;
    const hasAmount = input.settled_amount !== undefined && input.settled_amount !== null;
    if (!hasAt && !hasAmount) return null;
    if (!hasAt || !hasAmount) throw invalid('settled_at and settled_amount go together', [{ field: hasAt ? 'settled_amount' : 'settled_at', problem: 'is required with the other' }]);
    const atMs = parseDateTime(input.settled_at ?? '', 'settled_at');
    const amountMinor = toMinor(input.settled_amount, this.currency, 'settled_amount');
    if (amountMinor < 0) throw invalid('settled_amount must not be negative', [{ field: 'settled_amount', problem: 'must not be negative' }]);
    return { atMs, amountMinor };
  }

  private async settleOne(tx: Tx, row: store.GatewayPaymentRow, settlement: { atMs: number; amountMinor: number }, nowMs: number): Promise<void> {
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
    if (settlement.amountMinor > left) throw invalid('settled_amount exceeds amount − refunds', [{ field: 'settled_amount', problem: `at most ${left} minor units` }]);
    if (!(await store.settle(tx, row.payment_id, settlement.atMs, settlement.amountMinor, nowMs))) throw conflict('the payment changed meanwhile; try again');
  }

  /** DELETE: voids an unsettled payment without refunds; the record stays, status `voided`. */
  async void(paymentId: string, actor: Actor, afterward?: Afterward<store.GatewayPaymentRow>): Promise<store.GatewayPaymentRow> {
    return this.db.write(async (tx) => {
      const now = this.clock.nowMs();
      const row = await store.getPayment(tx, paymentId);
      if (row === undefined) throw notFound('payment not found');
      if (row.recharge_payment_id !== null) throw conflict(`this payment funds recharge payment ${row.recharge_payment_id}; roll that back, or refund this one`);
      if (row.status === 'voided' || row.status === 'settled') throw conflict(`a ${row.status} payment cannot be voided`);
      if (row.refunded_minor > 0) throw conflict('a refunded payment cannot be voided');
      if (!(await store.voidPayment(tx, paymentId, now, false))) throw conflict('the payment changed meanwhile; try again');
      await recordAudit(tx, actor, { action: 'gateway.void', subject: `gatewayPayment:${row.id}` }, now);
      const voided = { ...row, status: 'voided' as const, updated_at_ms: now };
      await afterward?.(tx, voided);
      return voided;
    });
  }

  /** `purse gateway settle`: every captured payment older than the cutoff, for amount − refunds. */
  async settleBefore(cutoffMs: number, actor: Actor): Promise<number> {
    return this.db.write(async (tx) => {
      const now = this.clock.nowMs();
      const settled = await store.settleAllBefore(tx, cutoffMs, now);
      await recordAudit(tx, actor, { action: 'gateway.settleAll', subject: 'gateway', detail: { count: settled.length, cutoffMs } }, now);
      return settled.length;
    });
  }

  // ---- /api/refunds -----------------------------------------------------------------------------

  async refund(paymentId: string, amount: unknown, actor: Actor, afterward?: Afterward<store.RefundRow>): Promise<store.RefundRow> {
    const amountMinor = positiveAmount(amount, this.currency, 'amount');
    return this.db.write(async (tx) => {
      const now = this.clock.nowMs();
      const row = await store.getPayment(tx, paymentId);
      if (row === undefined) throw notFound('payment not found');
      if (row.status !== 'success' && row.status !== 'settled') throw conflict(`only success or settled payments can be refunded; this one is ${row.status}`);
      if (row.recharge_payment_id !== null && row.credited_user_id === null) throw conflict(`this payment funds recharge payment ${row.recharge_payment_id}, not yet committed; roll that back instead`);
      if (!(await store.addRefund(tx, paymentId, amountMinor, now))) {
        const fresh = await store.getPayment(tx, paymentId);
        const left = (fresh?.amount_minor ?? 0) - (fresh?.refunded_minor ?? 0);
        throw conflict(`refunds would exceed the payment: ${left} minor units are left to refund`, [{ field: 'amount', problem: `at most ${left} minor units` }]);
      }
      const transactionId = row.credited_user_id === null ? null : await this.takeBackCredit(tx, row, row.credited_user_id, amountMinor, actor, now);
      const refund: store.RefundRow = { refund_id: newGatewayId(), payment_id: paymentId, amount_minor: amountMinor, ledger_transaction_id: transactionId, created_at_ms: now };
      await store.insertRefund(tx, refund);
      await recordAudit(tx, actor, { action: 'gateway.refund', subject: `gatewayPayment:${row.id}`, detail: { amountMinor } }, now);
      await afterward?.(tx, refund);
      return refund;
    });
  }

  /** A refund of money that became credit takes that credit back, or is refused. */
  private async takeBackCredit(tx: Tx, row: store.GatewayPaymentRow, userId: number, amountMinor: number, actor: Actor, nowMs: number): Promise<number> {
    try {
      const posted = await this.ledger.creditUser(
        tx,
        { kind: 'refund', provider: PROVIDER_OF[row.payment_method], paymentId: row.recharge_payment_id, description: 'refund', actor, userId, amountMinor: -amountMinor },
        nowMs,
      );
      return posted.transactionId;
    } catch (error) {
      if (error instanceof AppError && error.kind === 'conflict') throw conflict("refund refused: the person's credit balance is too low to take the refunded credit back", [{ field: 'amount', problem: 'more than the credit left' }]);
      throw error;
    }
  }

  async getRefund(refundId: string): Promise<store.RefundRow> {
    const row = await this.db.read((q) => store.getRefund(q, refundId));
    if (row === undefined) throw notFound('refund not found');
    return row;
  }

  listRefunds(filter: { paymentId?: string; refundId?: string }, limit = 100, offset = 0): Promise<store.RefundRow[]> {
    return this.db.read((q) => store.listRefunds(q, filter, limit, offset));
  }

  // ---- the recharge providers' hooks, inside the recharge payment's transactions ------------------

  async creditedBy(tx: Tx, recharge: RechargePaymentRow, nowMs: number): Promise<void> {
    if (!(await store.markCredited(tx, recharge.id, recharge.user_id, nowMs))) throw new Error(`recharge payment ${recharge.id} has no captured gateway payment`);
  }

  async releasedBy(tx: Tx, recharge: RechargePaymentRow, nowMs: number): Promise<void> {
    const row = await store.getByRecharge(tx, recharge.id);
    if (row !== undefined) await store.voidPayment(tx, row.payment_id, nowMs, true);
  }

  reconcile(): Promise<store.Mismatch[]> {
    return this.db.read((q) => store.mismatches(q));
  }
}

function invalidDetails(problems: ErrorDetail[]): AppError {
  return invalid(`${problems[0]?.field ?? 'payment'} ${problems[0]?.problem ?? 'is not valid'}`, problems);
}

function paymentMethod(value: string): PaymentMethod {
  if (value === 'credit_card' || value === 'mbway') return value;
  throw invalid('payment_method must be credit_card or mbway', [{ field: 'payment_method', problem: 'must be credit_card or mbway' }]);
}

function positiveAmount(value: unknown, currency: string, field: string): number {
  const minor = toMinor(value, currency, field);
  if (minor <= 0) throw invalid(`${field} must be greater than zero`, [{ field, problem: 'must be greater than zero' }]);
  return minor;
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

