// Checks that fail a statement from inside it, on both engines: `purse_require(condition, reason)`.
// A unit's last statements carry its last checks this way, so that PostgreSQL can send COMMIT behind
// them without waiting to see their result (Tx.finish): a check that fails aborts the transaction,
// and the COMMIT behind it then only ends it.
import type Database from 'better-sqlite3';

/**
 * What a requirement may say when it fails, written into SQL text as it is: fixed words, or which
 * of a statement's queued writes did not change its one row (Tx.laterOne), by its place.
 */
const REASONS = ['actor changed', 'window full'] as const;
export type Reason = (typeof REASONS)[number] | `write ${number}`;

function asReason(text: string): Reason | undefined {
  const fixed = REASONS.find((reason) => reason === text);
  if (fixed !== undefined) return fixed;
  return /^write \d{1,5}$/.test(text) ? (text as `write ${number}`) : undefined;
}

/** The place of the queued write whose requirement failed (`write N`), or undefined for any other error. */
export function failedWrite(error: unknown): number | undefined {
  const reason = failedRequirement(error);
  return reason?.startsWith('write ') === true ? Number(reason.slice('write '.length)) : undefined;
}

/** PostgreSQL's code for a failed requirement: any five letters and digits not taken by the server. */
const POSTGRES_CODE = 'PU001';

/** The function on PostgreSQL (a migration creates it). RAISE needs PL/pgSQL. */
export const POSTGRES_REQUIRE_FUNCTION = `CREATE OR REPLACE FUNCTION purse_require(ok BOOLEAN, reason TEXT) RETURNS BOOLEAN LANGUAGE plpgsql VOLATILE AS $$
  BEGIN
    IF ok IS NOT TRUE THEN RAISE EXCEPTION USING ERRCODE = '${POSTGRES_CODE}', MESSAGE = reason; END IF;
    RETURN TRUE;
  END
$$`;

class RequirementFailed extends Error {
  constructor(readonly reason: string) {
    super(`requirement failed: ${reason}`);
    this.name = 'RequirementFailed';
  }
}

/** The error a failed requirement throws on SQLite, made again on the event loop from a writer thread's copy. */
export function requirementFailure(reason: string): Error {
  return new RequirementFailed(reason);
}

/** The function on a SQLite connection; thrown errors pass through better-sqlite3 as they are. */
export function defineRequireFunction(conn: Database.Database): void {
  conn.function('purse_require', { deterministic: false }, (ok: unknown, reason: unknown) => {
    if (ok !== 1) throw new RequirementFailed(String(reason));
    return 1;
  });
}

/** An SQL expression that fails its statement with `reason` unless `condition` is true. */
export function requireThat(condition: string, reason: Reason): string {
  return `purse_require(${condition}, '${reason}')`;
}

/** The reason of a failed requirement, or undefined for any other error. */
export function failedRequirement(error: unknown): Reason | undefined {
  if (error instanceof RequirementFailed) return asReason(error.reason);
  const isPostgres = error instanceof Error && 'code' in error && error.code === POSTGRES_CODE;
  return isPostgres ? asReason(error.message) : undefined;
}
