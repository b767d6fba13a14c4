// Idempotency-Key on writes (DESIGN.md "Writes"). A route opts in with `config.idempotent`; its
// handler passes `remember(request, status, render)` to the service, whose write unit stores the
// response in the same transaction as the effect. A replay returns that stored response with
// `Idempotent-Replayed: true`; the same key with another request, or while the first is still
// running, is a 409.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

import type { Hasher } from '../auth/hashing.js';
import type { Clock } from '../clock.js';
import { isUniqueViolation, type Db, type Tx } from '../db/index.js';
import { conflict, invalid } from '../errors.js';

import * as store from './store.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    idempotent?: boolean;
  }
  interface FastifyRequest {
    idempotency: { scope: string; key: string; fingerprint: string } | null;
  }
}

/** Runs inside a service's write unit, after the effect, with the effect's result. */
export type Afterward<T> = (tx: Tx, result: T) => Promise<void>;

const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;

/** Keys are kept this long; a retry after that is a new request. */
export const IDEMPOTENCY_TTL_MS = 24 * 3600 * 1000;

export function installIdempotency(app: FastifyInstance, db: Db, hasher: Hasher): void {
  const running = new Set<string>();
  app.decorateRequest('idempotency', null);

  app.addHook('preHandler', async (request, reply) => {
    if (request.routeOptions.config.idempotent !== true) return;
    const header = request.headers['idempotency-key'];
    if (header === undefined) return;
    if (typeof header !== 'string' || !KEY_PATTERN.test(header)) {
      throw invalid('Idempotency-Key must be 1–255 visible ASCII characters', [{ field: 'header.idempotency-key', problem: 'must be 1–255 visible ASCII characters' }]);
    }
    const principal = request.principal;
    const scope = principal === null ? 'anonymous' : `${principal.clientId}:${principal.userId}`;
    const fingerprint = hasher.keyed('idempotency', requestText(request));
    const stored = await db.read((q) => store.find(q, scope, header));
    if (stored !== undefined) return replay(reply, stored, fingerprint);
    const slot = `${scope}\n${header}`;
    if (running.has(slot)) throw conflict('a request with this Idempotency-Key is still running');
    running.add(slot);
    request.idempotency = { scope, key: header, fingerprint };
    reply.raw.once('close', () => running.delete(slot));
  });
}

function replay(reply: FastifyReply, stored: store.StoredResponse, fingerprint: string): FastifyReply {
  if (stored.fingerprint !== fingerprint) throw conflict('this Idempotency-Key was used for a different request');
  void reply.code(stored.status_code).header('idempotent-replayed', 'true');
  if (stored.response_body === '') return reply.send();
  return reply.type('application/json; charset=utf-8').send(stored.response_body);
}

/**
 * Same method, URL and body (keys in any order) → same text. It is stored only as a keyed hash:
 * a body can hold a card number and CVV, which a plain hash would let anyone brute-force back.
 */
function requestText(request: FastifyRequest): string {
  return `${request.method} ${request.url}\n${canonicalJson(request.body)}`;
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/**
 * The hook a handler gives its service: stores `render(result)` under the request's key inside the
 * effect's transaction. Undefined when the request carried no key.
 */
export function remember<T>(request: FastifyRequest, statusCode: number, render: (result: T) => unknown, clock: Clock): Afterward<T> | undefined {
  const idempotency = request.idempotency;
  if (idempotency === null) return undefined;
  return async (tx, result) => {
    const body = statusCode === 204 ? '' : JSON.stringify(render(result));
    try {
      await store.insert(tx, idempotency.scope, idempotency.key, idempotency.fingerprint, statusCode, body, clock.nowMs());
    } catch (error) {
      // Another process stored this key first: this effect is undone with its transaction.
      if (isUniqueViolation(error)) throw conflict('a request with this Idempotency-Key was just completed; retry to get its response');
      throw error;
    }
  };
}
