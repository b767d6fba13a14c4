// Opens the engine that DATABASE_URL names.
import type { DatabaseTarget } from '../config.js';

import { DEFAULT_QUERY_TIMEOUT_MS, PostgresDb } from './postgres.js';
import { SqliteDb } from './sqlite.js';
import type { Db } from './types.js';

/** `queryTimeoutMs`: the longest one PostgreSQL statement may take before it counts as an outage. */
export function openDb(target: DatabaseTarget, poolSize: number, queryTimeoutMs = DEFAULT_QUERY_TIMEOUT_MS): Db {
  return target.engine === 'sqlite' ? new SqliteDb(target.file) : new PostgresDb(target.url, poolSize, queryTimeoutMs);
}

export { DEFAULT_QUERY_TIMEOUT_MS } from './postgres.js';
export type { Db, Dialect, Listening, ReadTx, Returning, Row, Tx, SqlValue, Statement, WriteUnit, Engine } from './types.js';
export { uniqueViolation, type UniqueConstraint } from './constraints.js';
export { errorFromData, errorToData, type ErrorData } from './sqlite-thread-protocol.js';
export { failedRequirement, requireThat, type Reason } from './requirements.js';
