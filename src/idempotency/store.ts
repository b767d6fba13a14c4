// SQL of idempotency keys: the key, the request's fingerprint and the response, stored with the effect.
import type { Tx } from '../db/index.js';

export interface StoredResponse {
  fingerprint: string;
  status_code: number;
  response_body: string;
}

export function find(q: Tx, scope: string, key: string): Promise<StoredResponse | undefined> {
  return q.get<StoredResponse>('SELECT fingerprint, status_code, response_body FROM idempotency_keys WHERE scope = ? AND idempotency_key = ?', [scope, key]);
}

export async function insert(tx: Tx, scope: string, key: string, fingerprint: string, statusCode: number, body: string, nowMs: number): Promise<void> {
  await tx.run('INSERT INTO idempotency_keys (scope, idempotency_key, fingerprint, status_code, response_body, created_at_ms) VALUES (?, ?, ?, ?, ?, ?)', [
    scope,
    key,
    fingerprint,
    statusCode,
    body,
    nowMs,
  ]);
}

export async function deleteOlderThan(tx: Tx, cutoffMs: number): Promise<number> {
  return (await tx.run('DELETE FROM idempotency_keys WHERE created_at_ms < ?', [cutoffMs])).changes;
}
