// The write pipeline's vocabulary (docs/architecture.md): every change to Purse's state is a command,
// plain data in and plain data out, run by one `execute` as a transaction script.
import type { Actor } from '../auth/principal.js';
import type { ReadTx, Tx } from '../db/index.js';
import type { ErrorDetail, ErrorKind } from '../errors.js';

/**
 * Every command's input and output, by name. Each module declares its own commands here
 * (`declare module '../commands/types.js' { interface CommandMap { … } }`), so that `execute`
 * knows the types of whatever name it is given.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- filled in by declaration merging
export interface CommandMap {}

export type CommandName = Extract<keyof CommandMap, string>;
export type InputOf<N extends CommandName> = CommandMap[N] extends { input: infer I } ? I : never;
export type OutputOf<N extends CommandName> = CommandMap[N] extends { output: infer O } ? O : never;

/** A request to change state: who asks, what, and when (the clock is read once, by whoever builds it). */
export interface Command<N extends CommandName = CommandName> {
  readonly name: N;
  readonly input: InputOf<N>;
  readonly actor: Actor;
  /** When the command happens, in ms since the epoch: the script's only clock. */
  readonly atMs: number;
  /** The client's Idempotency-Key; a retry with the same key answers the first outcome. */
  readonly idempotencyKey?: string;
}

/** An error as data: what the HTTP layer turns into a status and body, and idempotency replays. */
export interface Failure {
  kind: ErrorKind;
  message: string;
  data: ErrorDetail[];
  headers?: Record<string, string>;
}

export type Outcome<O> = { ok: true; value: O } | { ok: false; error: Failure };

/** What `execute` answers: the outcome, and whether it is the stored outcome of an earlier try. */
export interface Executed<O> {
  outcome: Outcome<O>;
  replayed: boolean;
}

/**
 * A script's way to say "no" and keep what it wrote: a declined card is stored as a declined
 * payment, an overdue payment is marked expired, and the refusal is the command's outcome. A script
 * that throws instead is undone entirely.
 */
export interface Refused {
  readonly refused: Failure;
}

/** An event for the outbox: a dotted type, the subject it is about, and the public shape of it. */
export interface EmittedEvent {
  type: string;
  subject: string;
  data: unknown;
}

/** What a script records besides its own SQL; the pipeline writes it in the same transaction. */
export interface Effects {
  /** An event for the outbox, such as `payment.committed` with the payment as the API shows it. */
  emit(type: string, subject: string, data: unknown): void;
  /** What the audit entry of this command is about (`payment:12`), with a few details. */
  about(subject: string, detail?: Record<string, string | number | boolean>): void;
  /** A further audit entry, for a second thing the command did (a voucher redeemed by a commit). */
  audit(action: string, subject: string, detail?: Record<string, string | number | boolean>): void;
}

/**
 * A command's definition. `prepare` runs before the transaction and may be slow or use services
 * (hash a password, look a voucher up); what it returns must be plain data. `authorize` and `run`
 * run inside the transaction and see nothing but the transaction, the command and that data.
 */
export interface CommandDefinition<N extends CommandName, P = undefined> {
  readonly name: N;
  /**
   * False for a command whose outcome holds secrets shown only once (voucher codes): its outcome
   * is never stored, so it takes no Idempotency-Key.
   */
  readonly idempotent?: false;
  /**
   * True for a command that can change who may act (a person's rights or state, a client, a refresh
   * family): its actor is read before it runs instead of checked after it (see pipeline.ts).
   */
  readonly changesActors?: true;
  prepare?(command: Command<N>): Promise<P>;
  /** Whether the actor may do this, decided with the actor's current rights and the rows it touches. */
  authorize(tx: ReadTx, command: Command<N>, prepared: P): Promise<void>;
  run(tx: Tx, command: Command<N>, prepared: P, effects: Effects): Promise<OutputOf<N> | Refused>;
}
