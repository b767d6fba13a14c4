// The ledger's rules inside other commands' transactions: double entry (postings summing to zero),
// balances changed only together with their postings, a credit account never below its floor.
// Plain functions of a transaction: no cache, no clock, so that any command script can post.
import crypto from 'node:crypto';

import { actorLabel, type Actor } from '../auth/principal.js';
import type { Tx } from '../db/index.js';
import { conflict, notFound } from '../errors.js';
import { assertMinor } from '../money.js';

import * as store from './store.js';

export const CREDIT_REFERENCE = 'credit';

/** Entry types as the statement shows them. */
export type TransactionKind = 'recharge' | 'manual' | 'refund';

export interface CreditEntry {
  kind: TransactionKind;
  /** The provider whose system account is the other side (external funding, vouchers, manual …). */
  provider: string;
  paymentId: number | null;
  description: string;
  actor: Actor;
  userId: number;
  /** The person's account; `credit` unless said otherwise. */
  reference?: string;
  /** Into the person's account; negative takes credit out, never below the account's floor. */
  amountMinor: number;
}

export interface Posted {
  transactionId: number;
  /** The person's balance after the entry. */
  balanceMinor: number;
}

/** A system account's code: shard 0 is `system:<provider>`, others `system:<provider>#<n>`. */
export function systemAccountCode(provider: string, shard: number): string {
  return shard === 0 ? `system:${provider}` : `system:${provider}#${shard}`;
}

/** Every person has one credit account, opened in the transaction that creates them. */
export async function openCreditAccount(tx: Tx, userId: number, currency: string, atMs: number): Promise<void> {
  await store.ensureAccount(tx, { code: `user:${userId}:${CREDIT_REFERENCE}`, userId, reference: CREDIT_REFERENCE, kind: 'credit', name: 'Credit', currency, overdraftLimitMinor: 0 }, atMs);
}

/** A provider's system account (every shard), created when missing; at start and by first use. */
export async function ensureSystemAccounts(tx: Tx, provider: string, currency: string, atMs: number): Promise<void> {
  for (let shard = 0; shard < tx.dialect.hotRowShards; shard++) {
    await store.ensureAccount(tx, { code: systemAccountCode(provider, shard), userId: null, reference: provider, kind: 'system', name: `System: ${provider}`, currency, overdraftLimitMinor: null }, atMs);
  }
}

/**
 * Moves `amountMinor` between a provider's system account and a person's credit, as one balanced
 * transaction. The person's row is locked first and the system row last — one order for every
 * posting, so two postings on PostgreSQL cannot deadlock, and the busiest row (every recharge touches
 * its provider's system account, spread over `hotRowShards` rows picked at random) is held for the
 * shortest time. A person's floor refuses with a 409 and the whole command is undone.
 */
export async function postCredit(tx: Tx, entry: CreditEntry, atMs: number): Promise<Posted> {
  assertMinor(entry.amountMinor);
  if (entry.amountMinor === 0) throw new Error('a posting of zero');
  const reference = entry.reference ?? CREDIT_REFERENCE;
  const transactionId = await store.insertTransaction(tx, { kind: entry.kind, provider: entry.provider, paymentId: entry.paymentId, description: entry.description, actor: actorLabel(entry.actor) }, atMs);
  const person = await store.addToUserBalance(tx, entry.userId, reference, entry.amountMinor);
  if (person === undefined) {
    if ((await store.getUserAccount(tx, entry.userId, reference)) === undefined) throw notFound(`user ${entry.userId} has no account "${reference}"`);
    throw conflict('the credit balance is too low for this', [{ field: 'amount', problem: 'would take the credit below zero' }]);
  }
  const system = await systemSide(tx, entry.provider, -entry.amountMinor);
  store.queuePostings(
    tx,
    transactionId,
    [
      { accountId: person.id, amountMinor: entry.amountMinor, balanceAfterMinor: person.balance_minor },
      { accountId: system.id, amountMinor: -entry.amountMinor, balanceAfterMinor: system.balance_minor },
    ],
    atMs,
  );
  return { transactionId, balanceMinor: person.balance_minor };
}

async function systemSide(tx: Tx, provider: string, amountMinor: number): Promise<{ id: number; balance_minor: number }> {
  const shards = tx.dialect.hotRowShards;
  const code = systemAccountCode(provider, shards === 1 ? 0 : crypto.randomInt(shards));
  const row = await store.addToSystemBalance(tx, code, amountMinor);
  // Every provider's accounts are created at start (context.ts); missing here is a wiring mistake.
  if (row === undefined) throw new Error(`system account ${code} does not exist`);
  return row;
}
