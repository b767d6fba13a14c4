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
