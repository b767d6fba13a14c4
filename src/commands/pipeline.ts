// The write pipeline (docs/architecture.md): one `execute` for every change, from HTTP, the command
// line and Purse's own timers alike. In the transaction of the effect it authorizes, runs the
// script, checks the actor against its stored rights, and stores the audit entry, the events the
// script emitted and — when the command carries an Idempotency-Key — its outcome. Nothing outside
// this file writes those.
import { actorNow, actorRightsExpression } from '../auth/current-actor.js';
import { isPurseItself, type Actor } from '../auth/principal.js';
import { formatRights } from '../auth/scopes.js';
import type { Clock } from '../clock.js';
import { errorFromData, errorToData, failedRequirement, uniqueViolation, type Db, type ErrorData, type ReadTx, type SqlValue, type Tx } from '../db/index.js';
import { AppError, conflict, invalid } from '../errors.js';

import { canonicalJson } from './fingerprint.js';
import * as store from './store.js';
import type { Command, CommandDefinition, CommandName, Effects, EmittedEvent, Executed, Failure, InputOf, Outcome, OutputOf, Refused } from './types.js';
import { isEventType } from '../events/types.js';

/** Idempotency records are kept this long; a retry after that is a new request. */
export const IDEMPOTENCY_TTL_MS = 24 * 3600 * 1000;

/** Most events one command may emit: bounds the transaction that writes them. */
const MAX_EVENTS_PER_COMMAND = 100_000;

/** Where a commit tells every process sharing the database which cached state it changed. */
export const CHANGES_CHANNEL = 'purse_changes';

/** A cache's owner: which events change what it holds, and how it forgets. */
interface Invalidation {
  pattern: RegExp;
  forget: () => void;
}

interface Key {
  scope: string;
  key: string;
  fingerprint: string;
}

/**
 * A command's transaction as data: what SQLite's writer thread is sent (sqlite-thread.ts), where the
 * same pipeline runs it (`answer`). Everything in it survives a structured clone.
 */
export interface Transaction {
  command: Command;
  prepared: unknown;
  key: Key | null;
}

/** A transaction's result: the outcome, and the events it wrote, for this process's caches and listeners. */
interface Transacted {
  outcome: Outcome<unknown>;
  events: EmittedEvent[];
}

/** The same, as the writer thread answers it: a thrown error as data (an AppError as its Failure). */
export type TransactedData = ({ ok: true } & Transacted) | { ok: false; failure: Failure } | { ok: false; error: ErrorData };

/** Where a command's transaction runs when not on this thread (SqliteThreadDb.call). */
export type RemoteTransactions = (transaction: Transaction) => Promise<unknown>;

/** A definition with its types erased, as the registry keeps it. */
interface Registered {
  name: string;
  idempotent?: false;
  changesActors?: true;
  prepare?(command: Command): Promise<unknown>;
  authorize(tx: ReadTx, command: Command, prepared: unknown): Promise<void>;
  run(tx: Tx, command: Command, prepared: unknown, effects: Effects): Promise<unknown>;
}

/** Tries of one command whose actor keeps changing under it; after that, a 409 to retry. */
const MAX_ACTOR_TRIES = 3;

export function refuse(error: AppError): Refused {
  return { refused: failureOf(error) };
}

export function failureOf(error: AppError): Failure {
  return { kind: error.kind, message: error.message, data: error.data, ...(Object.keys(error.headers).length === 0 ? {} : { headers: { ...error.headers } }) };
}

/** A failure as the error the HTTP layer and the command line report. */
export function errorOf(failure: Failure, extraHeaders: Record<string, string> = {}): AppError {
  return new AppError(failure.kind, failure.message, failure.data, { ...failure.headers, ...extraHeaders });
}

function isRefused(value: unknown): value is Refused {
  return typeof value === 'object' && value !== null && 'refused' in value;
}

type Detail = Record<string, string | number | boolean>;

/** Collects what a script emits; reset whenever its unit runs again (a retry, a rerun batch). */
class Recorder implements Effects {
  events: EmittedEvent[] = [];
  subject = '';
  detail: Detail = {};
  audits: { action: string; subject: string; detail: Detail }[] = [];

  reset(): void {
    this.events = [];
    this.subject = '';
    this.detail = {};
    this.audits = [];
  }

  emit(type: string, subject: string, data: unknown): void {
    if (this.events.length >= MAX_EVENTS_PER_COMMAND) throw new Error(`a command emitted more than ${MAX_EVENTS_PER_COMMAND} events`);
    if (!isEventType(type)) throw new Error(`an event of unknown type ${type}: add it to events/types.ts`);
    this.events.push({ type, subject, data });
  }

  about(subject: string, detail: Detail = {}): void {
    this.subject = subject;
    this.detail = detail;
  }

  audit(action: string, subject: string, detail: Detail = {}): void {
    this.audits.push({ action, subject, detail });
  }
}

/** Whose keys are whose: a key is scoped to the client, the user and the command. */
function idempotencyScope(command: Command): string {
  const actor = command.actor;
  const who = actor.kind === 'cli' ? 'cli' : actor.kind === 'system' ? `system:${actor.name}` : `${actor.clientId}:${actor.userId}`;
  return `${who}:${command.name}`;
}

function auditActor(actor: Actor): { actorUserId: number | null; actorClientId: string } {
  if (actor.kind === 'cli') return { actorUserId: null, actorClientId: 'cli' };
  if (actor.kind === 'system') return { actorUserId: null, actorClientId: `system:${actor.name}` };
  return { actorUserId: actor.userId, actorClientId: actor.clientId };
}

export class CommandPipeline {
  private readonly definitions = new Map<string, Registered>();
  private readonly listeners: ((events: readonly EmittedEvent[]) => void)[] = [];
  private readonly invalidations: Invalidation[] = [];

  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    /** A keyed hash: an input can hold a card number, which a plain hash would let anyone guess back. */
    private readonly fingerprintOf: (text: string) => string,
    /** Set when the writer runs on a thread of its own: the transactions run there (`answer`). */
    private readonly remote?: RemoteTransactions,
  ) {}

  /** Runs a command now, for callers that are not HTTP (the command line, start-up, tests): the value, or its failure thrown. */
  async perform<N extends CommandName>(name: N, input: InputOf<N>, actor: Actor): Promise<OutputOf<N>> {
    const { outcome } = await this.execute({ name, input, actor, atMs: this.clock.nowMs() });
    if (!outcome.ok) throw errorOf(outcome.error);
    return outcome.value;
  }

  register<N extends CommandName, P>(definition: CommandDefinition<N, P>): void {
    if (this.definitions.has(definition.name)) throw new Error(`command ${definition.name} registered twice`);
    this.definitions.set(definition.name, definition);
  }

  /** Called after every commit with the events it wrote (caches forget what those events changed). */
  onCommitted(listener: (events: readonly EmittedEvent[]) => void): void {
    this.listeners.push(listener);
  }

  /**
   * Calls `forget` after every commit of an event whose type matches `pattern`: in this process at
   * once, and in every other process sharing the database when it hears the commit's notification
   * (changeNotified). For caches of state that commands change: who may act, which providers are on.
   */
  invalidateOn(pattern: RegExp, forget: () => void): void {
    this.invalidations.push({ pattern, forget });
  }

  /** A notification on CHANGES_CHANNEL (from any process): the caches of the event types it names forget. */
  changeNotified(payload: string): void {
    this.forgetFor(payload.split(' '));
  }

  /** Every cache forgets everything: notifications may have been missed (the listening connection dropped). */
  forgetEverything(): void {
    for (const invalidation of this.invalidations) invalidation.forget();
  }

  private forgetFor(types: readonly string[]): void {
    for (const invalidation of this.invalidations) {
      if (types.some((type) => invalidation.pattern.test(type))) invalidation.forget();
    }
  }

  /** The distinct event types of a commit that some cache holds state of; empty for most commits. */
  private cachedTypes(events: readonly EmittedEvent[]): string[] {
    if (this.invalidations.length === 0) return [];
    const types = [...new Set(events.map((e) => e.type))];
    return types.filter((type) => this.invalidations.some((invalidation) => invalidation.pattern.test(type)));
  }

  async execute<N extends CommandName>(command: Command<N>): Promise<Executed<OutputOf<N>>> {
    const definition = this.definitions.get(command.name);
    if (definition === undefined) throw new Error(`no command ${command.name}`);
    if (definition.idempotent === false && command.idempotencyKey !== undefined) {
      const problem = 'is not taken here: the answer holds secrets that are shown once and never stored';
      return { outcome: { ok: false, error: failureOf(invalid(`Idempotency-Key ${problem}`, [{ field: 'header.idempotency-key', problem }])) }, replayed: false };
    }
    const key = this.keyOf(command);
    const earlier = key === null ? undefined : await this.storedAnswer<OutputOf<N>>(key);
    if (earlier !== undefined) return earlier;
    try {
      const prepared = definition.prepare === undefined ? undefined : await definition.prepare(command);
      const { outcome, events } = await this.transact({ command, prepared, key });
      this.forgetFor(this.cachedTypes(events));
      for (const listener of this.listeners) listener(events);
      return { outcome: outcome as Outcome<OutputOf<N>>, replayed: false };
    } catch (error) {
      // A duplicate of a request still running fails on what the first one changed (the payment it
      // committed, the voucher it reserved) or on its key: by then the first one has committed, and
      // its outcome is the answer.
      const keyTaken = uniqueViolation(error) === 'idempotency_records_pkey';
      const first = (keyTaken || error instanceof AppError) && key !== null ? await this.storedAnswer<OutputOf<N>>(key) : undefined;
      if (first !== undefined) return first;
      if (error instanceof AppError) return { outcome: { ok: false, error: failureOf(error) }, replayed: false };
      throw error;
    }
  }

  /** Runs the transaction here, or on the writer's thread; an error there is thrown here as it was there. */
  private async transact(transaction: Transaction): Promise<Transacted> {
    if (this.remote === undefined) return this.transactHere(transaction);
    const answer = (await this.remote(transaction)) as TransactedData;
    if (answer.ok) return answer;
    throw 'failure' in answer ? errorOf(answer.failure) : errorFromData(answer.error);
  }

  /** On the writer's thread: a transaction sent by the event loop's pipeline (`transact`), run here. */
  async answer(transaction: Transaction): Promise<TransactedData> {
    try {
      return { ok: true, ...(await this.transactHere(transaction)) };
    } catch (error) {
      return error instanceof AppError ? { ok: false, failure: failureOf(error) } : { ok: false, error: errorToData(error) };
    }
  }

  private async transactHere({ command, prepared, key }: Transaction): Promise<Transacted> {
    const definition = this.definitions.get(command.name);
    if (definition === undefined) throw new Error(`no command ${command.name}`);
    const recorder = new Recorder();
    const outcome = await this.runWithCurrentActor(definition, command, prepared, recorder, key);
    return { outcome, events: recorder.events };
  }

  /**
   * The unit, run again (undone first) with the actor's current rights when they changed meanwhile.
   * The unit's last statement checks that the rights stored are still the text the door read; when
   * they are not, they are read again and the unit runs with them (a 401 when the actor may no
   * longer act at all).
   */
  private async runWithCurrentActor(definition: Registered, command: Command, prepared: unknown, recorder: Recorder, key: Key | null): Promise<Outcome<unknown>> {
    let current = command;
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.db.write(async (tx) => {
          recorder.reset();
          return this.runUnit(tx, definition, current, prepared, recorder, key);
        });
      } catch (error) {
        if (failedRequirement(error) !== 'actor changed') throw error;
        if (attempt >= MAX_ACTOR_TRIES) throw conflict('your rights changed while this ran; try again');
        const rightsNow = await this.db.read((q) => rightsOf(q, current.actor));
        const actor = actorNow(current.actor, rightsNow);
        current = { ...current, actor: isPurseItself(actor) || typeof rightsNow !== 'string' ? actor : { ...actor, storedRights: rightsNow } };
      }
    }
  }

  /** The answer stored under a key, replayed; undefined when there is none yet. */
  private async storedAnswer<O>(key: Key): Promise<Executed<O> | undefined> {
    const stored = await this.db.read((q) => store.findRecord(q, key.scope, key.key));
    return stored === undefined ? undefined : replay(stored, key.fingerprint);
  }

  /** Forgets idempotency records older than a day (the sweeper); returns how many. */
  forgetOldRecords(nowMs: number): Promise<number> {
    return this.db.write((tx) => store.deleteRecordsOlderThan(tx, nowMs - IDEMPOTENCY_TTL_MS));
  }

  private keyOf(command: Command): Key | null {
    if (command.idempotencyKey === undefined) return null;
    return { scope: idempotencyScope(command), key: command.idempotencyKey, fingerprint: this.fingerprintOf(`${command.name}\n${canonicalJson(command.input)}`) };
  }

  /**
   * Authorize, run, then queue the events and the outcome under its key, and finish with them — with
   * the script's own queued writes — and the audit entry, which records the actor's rights as stored
   * now and fails unless they are those it was authorized with: the command's last round trip, with
   * its COMMIT on PostgreSQL.
   */
  private async runUnit(tx: Tx, definition: Registered, command: Command, prepared: unknown, recorder: Recorder, key: Key | null): Promise<Outcome<unknown>> {
    // A command that changes who may act (a person's rights, a client) could change its own actor:
    // its actor is read before it runs, not checked afterwards against its own change.
    const actorFirst = definition.changesActors === true ? await this.actorBefore(tx, command.actor) : undefined;
    const current = actorFirst === undefined ? command : { ...command, actor: actorFirst.actor };
    await definition.authorize(tx, current, prepared);
    const result = await definition.run(tx, current, prepared, recorder);
    const outcome: Outcome<unknown> = isRefused(result) ? { ok: false, error: result.refused } : { ok: true, value: result };
    store.queueEvents(tx, recorder.events.map((e) => ({ type: e.type, subject: e.subject, data: JSON.stringify(e.data) })), command.atMs);
    // Sent when the transaction commits and only then (NOTIFY is transactional): other processes
    // forget what this changed as it becomes visible, never before.
    const cached = this.cachedTypes(recorder.events);
    if (cached.length > 0) await tx.notify(CHANGES_CHANNEL, cached.join(' '));
    if (key !== null) store.queueRecord(tx, key.scope, key.key, { command: command.name, fingerprint: key.fingerprint, outcome: JSON.stringify(outcome) }, command.atMs);
    const rights = actorFirst === undefined ? actorRightsExpression(current.actor) : { sql: '?', params: [actorFirst.rights] };
    const expectedRights = actorFirst === undefined ? storedRightsOf(current.actor) : undefined;
    await tx.finish(store.auditStatement(this.auditRows(current, outcome, recorder), rights, expectedRights));
    return outcome;
  }

  /** The actor as stored before the command runs, and the rights text the audit entry records. */
  private async actorBefore(tx: Tx, actor: Actor): Promise<{ actor: Actor; rights: SqlValue }> {
    const rights = await rightsOf(tx, actor);
    return { actor: actorNow(actor, rights), rights };
  }

  private auditRows(command: Command, outcome: Outcome<unknown>, recorder: Recorder): store.AuditRow[] {
    const detail = outcome.ok ? recorder.detail : { ...recorder.detail, refused: outcome.error.message };
    const who = auditActor(command.actor);
    return [
      { atMs: command.atMs, ...who, action: command.name, subject: recorder.subject, detail: JSON.stringify(detail) },
      ...recorder.audits.map((a) => ({ atMs: command.atMs, ...who, action: a.action, subject: a.subject, detail: JSON.stringify(a.detail) })),
    ];
  }
}

/**
 * The rights text the actor was authorized with: what the door read, or for an actor made elsewhere
 * (tests, tools) its rights as formatRights stores them; none for Purse itself, which has no row.
 */
function storedRightsOf(actor: Actor): string | undefined {
  return isPurseItself(actor) ? undefined : (actor.storedRights ?? formatRights(actor.rights));
}

/** The rights the actor holds as stored now, or null when it may not act (actorRightsExpression). */
async function rightsOf(q: ReadTx, actor: Actor): Promise<SqlValue> {
  const expression = actorRightsExpression(actor);
  const row = await q.get<{ actor_rights: SqlValue }>(`SELECT ${expression.sql} AS actor_rights`, expression.params);
  return row?.actor_rights ?? null;
}

function replay<O>(stored: store.IdempotencyRecord, fingerprint: string): Executed<O> {
  if (stored.fingerprint !== fingerprint) {
    return { outcome: { ok: false, error: failureOf(conflict('this Idempotency-Key was used for a different request')) }, replayed: false };
  }
  return { outcome: JSON.parse(stored.outcome) as Outcome<O>, replayed: true };
}
