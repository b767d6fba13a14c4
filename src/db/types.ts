// The one interface the rest of Purse sees; nothing outside db/ knows which engine runs.

export type SqlValue = string | number | null;
export type Row = Record<string, SqlValue>;

/** A connection inside a transaction (writes) or a plain reader (reads). SQL uses `?` placeholders. */
export interface Tx {
  all<T extends object = Row>(sql: string, params?: readonly SqlValue[]): Promise<T[]>;
  get<T extends object = Row>(sql: string, params?: readonly SqlValue[]): Promise<T | undefined>;
  /** Runs a statement; `changes` is the number of rows it inserted, updated or deleted. */
  run(sql: string, params?: readonly SqlValue[]): Promise<{ changes: number }>;
}

/**
 * A unit of work: database statements only. It may run again (PostgreSQL retries serialization
 * failures) and, on SQLite, shares a transaction with the units that arrived with it, so it must
 * not do slow or external work (hash passwords before, not inside).
 */
export type WriteUnit<T> = (tx: Tx) => Promise<T>;

export type Engine = 'sqlite' | 'postgres';

export interface Db {
  readonly engine: Engine;
  /** Reads committed data. */
  read<T>(fn: (q: Tx) => Promise<T>): Promise<T>;
  /** Runs the unit in a transaction; resolves only once its effects are durably committed. */
  write<T>(unit: WriteUnit<T>): Promise<T>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** A unique or primary-key constraint violation, on either engine. */
export function isUniqueViolation(error: unknown): boolean {
  if (typeof error !== 'object' || error === null || !('code' in error)) return false;
  const code = error.code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}
