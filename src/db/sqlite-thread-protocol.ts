// What the event loop and SQLite's writer thread say to each other (sqlite-thread.ts and
// sqlite-thread-host.ts). Plain data only: a message is a structured clone, which keeps neither an
// error's class nor its extra fields, so errors travel as ErrorData and are made again.
import { failedRequirement, requirementFailure } from './requirements.js';
import type { Row, SqlValue, Statement } from './types.js';

/** What identifies an error to the code that catches it: its constraint code, its requirement. */
export interface ErrorData {
  name: string;
  message: string;
  /** The driver's code (`SQLITE_CONSTRAINT_UNIQUE`): what uniqueViolation reads, with the message. */
  code?: string;
  /** A failed requirement's reason (requireThat). */
  requirement?: string;
  /** Which of a remote unit's laterOne errors this is, by its place among them. */
  otherwise?: number;
  stack?: string;
}

export function errorToData(error: unknown): ErrorData {
  if (!(error instanceof Error)) return { name: 'Error', message: String(error) };
  const data: ErrorData = { name: error.name, message: error.message };
  if (error.stack !== undefined) data.stack = error.stack;
  if ('code' in error && typeof error.code === 'string') data.code = error.code;
  const requirement = failedRequirement(error);
  if (requirement !== undefined) data.requirement = requirement;
  if (error instanceof OtherwiseMarker) data.otherwise = error.place;
  return data;
}

/** The error again, as the code that catches it tells it apart; `otherwise` are the unit's own laterOne errors. */
export function errorFromData(data: ErrorData, otherwise: readonly Error[] = []): Error {
  const own = data.otherwise === undefined ? undefined : otherwise[data.otherwise];
  if (own !== undefined) return own;
  if (data.requirement !== undefined) return requirementFailure(data.requirement);
  const error = new Error(data.message);
  error.name = data.name;
  if (data.stack !== undefined) error.stack = data.stack;
  return data.code === undefined ? error : Object.assign(error, { code: data.code });
}

/** For the thread's entry: a start-up failure, as the event loop's `ready` rejects with it. */
export function startFailure(error: unknown): FromWriter[] {
  return [{ t: 'failed', error: errorToData(error) }];
}

/** Stands on the writer's side for a remote unit's laterOne error, which stays on the event loop. */
export class OtherwiseMarker extends Error {
  constructor(readonly place: number) {
    super(`queued write ${place} did not change one row`);
    this.name = 'OtherwiseMarker';
  }
}

/** A statement of a remote unit, run on the writer's Tx. */
export type Op =
  | { op: 'get' | 'all' | 'run'; sql: string; params: readonly SqlValue[] }
  | { op: 'later'; sql: string; params: readonly SqlValue[] }
  | { op: 'laterOne'; sql: string; params: readonly SqlValue[]; otherwise: number }
  | { op: 'flush' | 'finish'; read?: Statement };

/** Event loop → writer thread. */
export type ToWriter =
  /** Run a write unit whose code stays on the event loop (Db.write with a function). */
  | { t: 'unit'; id: number }
  /** One statement of run `run` of a unit; `reply` unless it is queued (later, laterOne). */
  | { t: 'op'; run: number; reply: number; body: Op }
  /** The unit's code has ended, well or failing (its value and its error stay on the event loop). */
  | { t: 'end'; run: number; ok: boolean }
  /** A request the thread's own handler answers (a command's transaction). */
  | { t: 'call'; id: number; payload: unknown }
  | { t: 'close' };

/** Writer thread → event loop. */
export type FromWriter =
  | { t: 'ready' }
  | { t: 'failed'; error: ErrorData }
  /** Unit `id` starts (again: a unit may run more than once) as run `run`. */
  | { t: 'begin'; id: number; run: number }
  | { t: 'reply'; reply: number; ok: true; value: Row[] | Row | undefined | { changes: number } | { changes: number[]; row: Row | undefined } }
  | { t: 'reply'; reply: number; ok: false; error: ErrorData }
  /** A unit or a call is done, and on disk when it succeeded. */
  | { t: 'done'; id: number; ok: true; value: unknown }
  | { t: 'done'; id: number; ok: false; error: ErrorData; own?: true }
  | { t: 'closed' };

/** Most messages sent in one: bounds one structured clone. */
const MAX_MESSAGES_PER_POST = 1024;

/**
 * Messages for the other thread, sent together: each post wakes the other thread and is a structured
 * clone of its own, and the writer batches what arrives together (group commit), so one post per
 * turn of the sender's loop, not one per message. A message that cannot be copied fails alone
 * (`failed`), the rest still go.
 */
export class Outbox<M> {
  private pending: { message: M; failed?: ((error: unknown) => void) | undefined }[] = [];

  constructor(
    private readonly port: { postMessage(value: unknown): void },
    /** When the batch goes: once the current turn ends (setImmediate, queueMicrotask). */
    private readonly schedule: (flush: () => void) => void,
  ) {}

  post(message: M, failed?: (error: unknown) => void): void {
    if (this.pending.length === 0) {
      this.schedule(() => {
        this.flush();
      });
    }
    this.pending.push({ message, failed });
    if (this.pending.length >= MAX_MESSAGES_PER_POST) this.flush();
  }

  flush(): void {
    const batch = this.pending;
    if (batch.length === 0) return;
    this.pending = [];
    try {
      this.port.postMessage(batch.map((entry) => entry.message));
      return;
    } catch {
      // One of them cannot be copied: each goes alone, and only that one fails.
    }
    for (const entry of batch) {
      try {
        this.port.postMessage([entry.message]);
      } catch (error) {
        entry.failed?.(error);
      }
    }
  }
}
