// Opens the engine that DATABASE_URL names.
import type { DatabaseTarget } from '../config.js';

import { PostgresDb } from './postgres.js';
import { SqliteDb } from './sqlite.js';
import type { Db } from './types.js';

export function openDb(target: DatabaseTarget, poolSize: number): Db {
  return target.engine === 'sqlite' ? new SqliteDb(target.file) : new PostgresDb(target.url, poolSize);
}

export type { Db, Dialect, ReadTx, Row, Tx, SqlValue, Statement, WriteUnit, Engine } from './types.js';
export { uniqueViolation, type UniqueConstraint } from './constraints.js';
