// How a route hands a command to the pipeline and answers its outcome: the actor from the guard,
// the Idempotency-Key from its header, the clock read once here, and a failure thrown as the error
// that server.ts maps to HTTP (so a replayed refusal answers exactly as the first one did).
import type { FastifyReply, FastifyRequest } from 'fastify';

import { principalOf } from '../auth/guard.js';
import { actorOf } from '../auth/principal.js';
import type { Clock } from '../clock.js';
import { invalid } from '../errors.js';

import { errorOf } from './pipeline.js';
import type { Command, CommandName, Executed, InputOf } from './types.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route documents an Idempotency-Key header (every write whose outcome may be stored). */
    idempotent?: boolean;
  }
}

const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;

/** The Idempotency-Key header, checked; undefined when the request has none. */
export function idempotencyKeyOf(request: FastifyRequest): string | undefined {
  const header = request.headers['idempotency-key'];
  if (header === undefined) return undefined;
  if (typeof header !== 'string' || !KEY_PATTERN.test(header)) {
    throw invalid('Idempotency-Key must be 1–255 visible ASCII characters', [{ field: 'header.idempotency-key', problem: 'must be 1–255 visible ASCII characters' }]);
  }
  return header;
}

/** A command from a guarded route's request. */
export function commandOf<N extends CommandName>(request: FastifyRequest, clock: Clock, name: N, input: InputOf<N>): Command<N> {
  const key = idempotencyKeyOf(request);
  return { name, input, actor: actorOf(principalOf(request)), atMs: clock.nowMs(), ...(key === undefined ? {} : { idempotencyKey: key }) };
}

/** The command's value, or its failure thrown; marks a replayed answer with `Idempotent-Replayed`. */
export function valueOf<O>(reply: FastifyReply, executed: Executed<O>): O {
  const replayed: Record<string, string> = executed.replayed ? { 'idempotent-replayed': 'true' } : {};
  if (!executed.outcome.ok) throw errorOf(executed.outcome.error, replayed);
  void reply.headers(replayed);
  return executed.outcome.value;
}
