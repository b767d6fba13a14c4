// PostgreSQL: pooled connections, each unit in its own transaction, retried on serialization
// failure and deadlock. Any number of Purse processes may share one database.
import pg from 'pg';

import { CoalescingSocket } from './coalescing-socket.js';
import { failedWrite, requireThat } from './requirements.js';
import { AppError, invalid, unavailable } from '../errors.js';
import { queueIsFull, readOnly, type Db, type Dialect, type Listening, type QueuedWrite, type ReadTx, type Row, type SqlValue, type Statement, type Tx, type WriteUnit } from './types.js';

const MAX_ATTEMPTS = 5;
const RETRYABLE = new Set(['40001', '40P01']); // serialization_failure, deadlock_detected
/** A client waits this long for a pooled connection before it is told to come back. */
const CONNECT_TIMEOUT_MS = 5_000;
/**
 * The longest any one statement may take unless configured (PURSE_DB_QUERY_TIMEOUT_SECONDS).
 * Purse's statements take milliseconds (a 10,000-row bulk recharge about one second); past this
 * the server is taken to be stuck.
 */
export const DEFAULT_QUERY_TIMEOUT_MS = 30_000;
const PING_TIMEOUT_MS = 2_000;
/** How much longer the client waits than the server lets a statement run (see the pool's settings). */
const CLIENT_TIMEOUT_MARGIN_MS = 2_000;
/** What a client is told to wait when the database is away: about as long as a restart takes. */
const OUTAGE_RETRY_AFTER_SECONDS = 5;
/** Node's socket errors and PostgreSQL's own for a server that is gone, going or not yet there. */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ENOTFOUND']);
// admin/crash shutdown, cannot connect now, too many connections, statement timeout
const SERVER_GONE_STATES = new Set(['57P01', '57P02', '57P03', '53300', '57014']);

// BIGINT (int8) arrives as text by default; every BIGINT here is a count, an id or minor units,
// all kept below 2^53 by the services, so converting to number is exact. Assert it anyway.
pg.types.setTypeParser(pg.types.builtins.INT8, (text) => {
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw new Error(`BIGINT out of safe range: ${text}`);
  return n;
});
// NUMERIC (from SUM over BIGINT) likewise.
pg.types.setTypeParser(pg.types.builtins.NUMERIC, (text) => {
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw new Error(`NUMERIC is not a safe integer: ${text}`);
  return n;
});

// Events carry the id of the transaction that wrote them (`tx_order`); a reader reads only below
// the oldest transaction still running, so an event that commits later can never land behind it.
// Hot rows are spread over 16 shards: writers run in parallel and would queue on one row lock.
const DIALECT: Dialect = { settledHorizon: 'pg_snapshot_xmin(pg_current_snapshot())::text::bigint', hotRowShards: 16, forUpdate: ' FOR UPDATE', forShare: ' FOR SHARE', skipLocked: ' FOR UPDATE SKIP LOCKED', combinesWrites: true };

const placeholderCache = new Map<string, string>();
const MAX_CACHED_SQL = 10_000;

/**
 * SQL texts run as named prepared statements: PostgreSQL parses and plans each once per connection
 * instead of on every call (the same few dozen statements run all day). Bounded, because each
 * connection keeps what it prepared: texts past the bound run unnamed, as before.
 */
const statementNames = new Map<string, string>();
const MAX_NAMED_STATEMENTS = 500;
/** Times each text was seen before it earns a name: a one-off text (an odd row count) stays unnamed. */
const sightings = new Map<string, number>();
const NAMED_AFTER_SIGHTINGS = 3;

function statementName(text: string): string | undefined {
  const known = statementNames.get(text);
  if (known !== undefined || statementNames.size >= MAX_NAMED_STATEMENTS) return known;
  const seen = (sightings.get(text) ?? 0) + 1;
  if (sightings.size >= MAX_CACHED_SQL) sightings.clear();
  sightings.set(text, seen);
  if (seen < NAMED_AFTER_SIGHTINGS) return undefined;
  const name = `p${statementNames.size}`;
  statementNames.set(text, name);
  return name;
}

/** A query config for `text`: named when it may be prepared once per connection. */
function queryOf(sql: string, params: readonly SqlValue[]): pg.QueryConfig {
  // PostgreSQL cannot store U+0000 in text and answers with an error; a value that got past the
  // request checks (decoded late, from a header or nested JSON text) is the client's mistake.
  if (params.some((p) => typeof p === 'string' && p.includes('\u0000'))) throw invalid('text must not contain NUL characters (U+0000)', [{ problem: 'contains a NUL character (U+0000)' }]);
  const text = toPgPlaceholders(sql);
  const name = statementName(text);
  return name === undefined ? { text, values: [...params] } : { name, text, values: [...params] };
}

/**
 * `?` → `$1, $2, …` so that every store writes one SQL text for both engines. A `?` inside a
 * string literal, a quoted identifier or a comment is text, not a placeholder, and stays.
 */
export function toPgPlaceholders(sql: string): string {
  let converted = placeholderCache.get(sql);
  if (converted === undefined) {
    let n = 0;
    converted = sql.replace(/'(?:[^']|'')*'|"(?:[^"]|"")*"|--[^\n]*|\/\*[\s\S]*?\*\/|\?/g, (token) => (token === '?' ? `$${++n}` : token));
    if (placeholderCache.size >= MAX_CACHED_SQL) placeholderCache.clear();
    placeholderCache.set(sql, converted);
  }
  return converted;
}

class PgTx implements Tx {
  readonly dialect = DIALECT;
  private queued: QueuedWrite[] = [];
  /** Set once COMMIT has been sent behind the unit's last statements (finish): nothing may follow it. */
  private committing: Promise<unknown> | undefined;

  /** The COMMIT already sent, whose answer ends the transaction however the unit went. */
  get sentCommit(): Promise<unknown> | undefined {
    return this.committing;
  }

  constructor(private readonly client: pg.PoolClient) {}

  async finish(read: Statement): Promise<{ changes: number[]; row: Row | undefined }> {
    const groups = this.takeQueued();
    const changes: number[] = [];
    for (const group of groups.slice(0, -1)) changes.push(...(await this.flushGroup(group)).changes);
    const last = combined(groups.at(-1) ?? [], read);
    const statement = last.statement ?? read;
    this.assertOpen();
    // Built before anything is sent (it refuses a NUL): COMMIT must never leave without the
    // statement before it. Asked for in the same turn, the two leave in one write.
    const config = queryOf(statement.sql, statement.params);
    const answer = this.client.query(config);
    this.committing = sendAhead(this.client, 'COMMIT');
    const result = last.answer((await answer.catch(failureOf(groups.at(-1) ?? []))).rows as Row[]);
    await this.committing;
    return { changes: [...changes, ...result.changes], row: result.row };
  }

  /** COMMIT, unless finish sent it already; what the unit queued goes first. */
  async commit(): Promise<void> {
    if (this.committing !== undefined) return;
    await this.flush(); // no round trip when the unit queued nothing
    this.committing = this.client.query('COMMIT');
    await this.committing;
  }

  later(sql: string, params: readonly SqlValue[] = []): void {
    this.queued.push({ sql, params });
  }

  laterOne(sql: string, params: readonly SqlValue[], otherwise: Error): void {
    this.queued.push({ sql, params, otherwise });
  }

  /**
   * The queued writes and the read as one statement (combined), one round trip; more when the
   * queue is past one statement's bounds. The read may itself write (an INSERT … RETURNING). Every
   * part of a statement runs on one snapshot.
   */
  async flush(read?: Statement): Promise<{ changes: number[]; row: Row | undefined }> {
    const groups = this.takeQueued();
    const changes: number[] = [];
    for (const group of groups.slice(0, -1)) changes.push(...(await this.flushGroup(group)).changes);
    const last = await this.flushGroup(groups.at(-1) ?? [], read);
    return { changes: [...changes, ...last.changes], row: last.row };
  }

  /** The queued writes in groups that stay within the bounds on one statement; the last carries a flush's read. */
  private takeQueued(): QueuedWrite[][] {
    const groups: QueuedWrite[][] = [];
    for (const write of this.queued) {
      const group = groups.at(-1);
      if (group === undefined || queueIsFull([...group, write])) groups.push([write]);
      else group.push(write);
    }
    this.queued = [];
    return groups;
  }

  private async flushGroup(writes: QueuedWrite[], read?: Statement): Promise<{ changes: number[]; row: Row | undefined }> {
    const group = combined(writes, read);
    if (group.statement === undefined) return group.answer([]);
    return group.answer(await this.query<Row>(group.statement.sql, group.statement.params).catch(failureOf(writes)));
  }

  private async query<T>(sql: string, params: readonly SqlValue[]): Promise<T[]> {
    this.assertOpen();
    const result = await this.client.query(queryOf(sql, params));
    return result.rows as T[];
  }

  /** Queued writes first, when there are too many to keep. */
  private async drainIfFull(): Promise<void> {
    if (this.queued.length > 0 && queueIsFull(this.queued)) await this.flush();
  }

  async all<T extends object>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    await this.drainIfFull();
    return this.query<T>(sql, params);
  }

  async get<T extends object>(sql: string, params: readonly SqlValue[] = []): Promise<T | undefined> {
    const rows = await this.all<T>(sql, params);
    return rows[0];
  }

  async notify(channel: string, payload: string): Promise<void> {
    await this.all('SELECT pg_notify(?, ?)', [channel, payload]);
  }

  /** After COMMIT was sent, a statement would run outside the transaction: a unit's mistake. */
  private assertOpen(): void {
    if (this.committing !== undefined) throw new Error('a statement after the transaction was finished');
  }

  async run(sql: string, params: readonly SqlValue[] = []): Promise<{ changes: number }> {
    await this.drainIfFull();
    this.assertOpen();
    const result = await this.client.query(queryOf(sql, params));
    return { changes: result.rowCount ?? 0 };
  }
}

/** A statement's error, as the unit fails: a laterOne write that did not change one row fails it with its own error. */
function failureOf(writes: readonly QueuedWrite[]): (error: unknown) => never {
  return (error) => {
    const place = failedWrite(error);
    throw (place === undefined ? undefined : writes[place]?.otherwise) ?? error;
  };
}

/**
 * One group of queued writes and a read as one statement, one round trip:
 *   WITH w0 AS (<write> RETURNING 1), w1 AS (…), r AS (<read>)
 *   SELECT (SELECT COUNT(*) FROM w0) AS "#0", …, r.* FROM (SELECT 1) one LEFT JOIN r ON TRUE
 * and how to read its answer: the rows each write changed, and the read's first row. No writes: the
 * read alone (no statement at all without one either).
 */
function combined(writes: readonly QueuedWrite[], read: Statement | undefined): { statement: Statement | undefined; answer(rows: readonly Row[]): { changes: number[]; row: Row | undefined } } {
  if (writes.length === 0) return { statement: read, answer: (rows) => ({ changes: [], row: rows[0] }) };
  const ctes = [...writes.map((w, i) => `w${i} AS (${w.sql} RETURNING 1)`), ...(read === undefined ? [] : [`r AS (${read.sql})`])].join(', ');
  // A laterOne write is required to have changed one row, in the statement itself (Tx.laterOne).
  const counts = writes.map((w, i) => (w.otherwise === undefined ? `(SELECT COUNT(*) FROM w${i}) AS "#${i}"` : `(SELECT COUNT(*) FROM w${i}) AS "#${i}", ${requireThat(`(SELECT COUNT(*) FROM w${i}) = 1`, `write ${i}`)} AS "#${i}?"`)).join(', ');
  const tail = read === undefined ? '' : ', r.* FROM (SELECT 1) one LEFT JOIN r ON TRUE';
  const statement = { sql: `WITH ${ctes} SELECT ${counts}${tail}`, params: [...writes.flatMap((w) => w.params), ...(read?.params ?? [])] };
  const answer = (rows: readonly Row[]): { changes: number[]; row: Row | undefined } => {
    const [first] = rows;
    if (first === undefined) throw new Error('a flush returned no row');
    const changes = writes.map((_, i) => Number(first[`#${i}`]));
    const row = Object.fromEntries(Object.entries(first).filter(([column]) => !column.startsWith('#')));
    return { changes, row: read === undefined ? undefined : row };
  };
  return { statement, answer };
}

/**
 * Sends a statement without waiting for its answer (the connection pipelines): what follows goes out
 * behind it at once. The caller awaits the answer later, and failing meanwhile is not an unhandled
 * rejection. A BEGIN fails only with its connection, and then everything behind it fails too.
 */
function sendAhead(client: pg.PoolClient, sql: string): Promise<unknown> {
  const answer = client.query(sql);
  answer.catch(() => undefined);
  return answer;
}

function errorCode(error: unknown): unknown {
  return typeof error === 'object' && error !== null && 'code' in error ? error.code : undefined;
}

/**
 * Errors that say "the database is not there right now", not "this request is wrong": connection
 * refused or dropped, the server shutting down, the pool's wait running out. They become a 503
 * with Retry-After; the pool reconnects by itself once the server is back.
 */
function isOutage(error: unknown): boolean {
  const code = String(errorCode(error));
  if (NETWORK_CODES.has(code) || SERVER_GONE_STATES.has(code) || code.startsWith('08')) return true;
  const message = error instanceof Error ? error.message : '';
  return /^Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Query read timeout/.test(message);
}

/**
 * Ends a unit that failed. A connection whose server is gone or frozen is destroyed, not rolled
 * back: a ROLLBACK would wait behind the stuck query, and the server undoes the transaction of a
 * connection that closes.
 */
async function abandon(client: pg.PoolClient, error: unknown, committing?: Promise<unknown>): Promise<void> {
  if (isOutage(error)) {
    client.release(error instanceof Error ? error : true);
    return;
  }
  // A COMMIT sent behind a statement that failed ends the transaction it aborted (the server answers
  // ROLLBACK): a ROLLBACK after it would find none, and say so in the server's log.
  await (committing ?? client.query('ROLLBACK')).catch(() => undefined);
  client.release();
}

/** The error a client sees: an outage or a conflict that kept recurring is a 503, never a 500. */
function asClientError(error: unknown): unknown {
  if (isOutage(error)) return unavailable('the database is not reachable; try again shortly', OUTAGE_RETRY_AFTER_SECONDS);
  if (RETRYABLE.has(String(errorCode(error)))) return unavailable('too many concurrent changes to the same records; try again', 1);
  return error;
}

export class PostgresDb implements Db {
  readonly engine = 'postgres' as const;
  readonly dialect = DIALECT;
  private readonly pool: pg.Pool;
  private readonly listened = new WeakSet<pg.PoolClient>();

  constructor(
    private readonly url: string,
    poolSize: number,
    queryTimeoutMs = DEFAULT_QUERY_TIMEOUT_MS,
  ) {
    this.pool = new pg.Pool({
      connectionString: url,
      max: poolSize,
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
      // A query is written as soon as it is asked for, not after the one before it answered: a
      // transaction's BEGIN travels with its first statement, a read's independent queries together.
      pipeline: true,
      stream: () => new CoalescingSocket(),
      // A server that stops answering (frozen, or the network dropping packets) must not hold a
      // request for ever: the socket is probed, and a query that takes too long fails as an outage.
      keepAlive: true,
      // The server's timeout fires first: a statement it stops aborts the transaction, so a COMMIT
      // already sent behind it (Tx.finish) only ends it. The client's own is for a server or network
      // that stopped answering — and then the connection is destroyed before anything behind is read.
      query_timeout: queryTimeoutMs + CLIENT_TIMEOUT_MARGIN_MS,
      statement_timeout: queryTimeoutMs,
      idle_in_transaction_session_timeout: queryTimeoutMs,
    });
    // An idle client that loses its connection must not crash the process.
    this.pool.on('error', () => undefined);
  }

  /** One connection, one REPEATABLE READ transaction: every statement of the read sees one snapshot. */
  async read<T>(fn: (q: ReadTx) => Promise<T>): Promise<T> {
    const client = await this.connect();
    try {
      const began = sendAhead(client, 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      const value = await fn(readOnly(new PgTx(client)));
      await began;
      await client.query('COMMIT');
      client.release();
      return value;
    } catch (error) {
      await abandon(client, error);
      throw asClientError(error);
    }
  }

  /** A lone statement runs on a snapshot of its own in autocommit: no BEGIN and COMMIT round trips. */
  async selectValues(sql: string, params: readonly SqlValue[] = []): Promise<SqlValue[][]> {
    const client = await this.connect();
    try {
      const result = await client.query<SqlValue[]>({ ...queryOf(sql, params), rowMode: 'array' });
      client.release();
      return result.rows;
    } catch (error) {
      await abandon(client, error);
      throw asClientError(error);
    }
  }

  async write<T>(unit: WriteUnit<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const client = await this.connect();
      const tx = new PgTx(client);
      try {
        const began = sendAhead(client, 'BEGIN');
        const value = await unit(tx);
        await began;
        await tx.commit();
        client.release();
        return value;
      } catch (error) {
        await abandon(client, error, tx.sentCommit);
        if (!RETRYABLE.has(String(errorCode(error))) || attempt >= MAX_ATTEMPTS) throw asClientError(error);
      }
    }
  }

  /** Readiness: a frozen server must answer "not ready" in seconds, not after a query's full timeout. */
  async ping(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reject(unavailable('the database is not answering; try again shortly', OUTAGE_RETRY_AFTER_SECONDS));
      }, PING_TIMEOUT_MS);
    });
    try {
      await Promise.race([this.pool.query('SELECT 1'), late]);
    } catch (error) {
      throw asClientError(error);
    } finally {
      clearTimeout(timer);
    }
  }

  // pg_dump takes a consistent snapshot of a live database, and the server's own backups (base
  // backups, WAL archiving) go further: Purse does not copy them badly.
  backup(): Promise<void> {
    return Promise.reject(new AppError('invalid', 'purse backup copies a SQLite database; back PostgreSQL up with pg_dump, e.g. pg_dump --format=custom --file=purse.dump "$DATABASE_URL" (README: Backups)'));
  }

  listen(channel: string, onMessage: (payload: string) => void, onGap: () => void): Listening {
    return new PgListener(this.url, channel, onMessage, onGap);
  }

  private async connect(): Promise<pg.PoolClient> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (error) {
      throw asClientError(error);
    }
    // A connection that drops while checked out (between two queries) is reported as an 'error'
    // event with no listener, which would end the process; the query that next uses it fails
    // instead, and the pool discards it on release.
    if (!this.listened.has(client)) {
      client.on('error', () => undefined);
      this.listened.add(client);
    }
    return client;
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

/** The first wait before listening again after a drop, doubled on each failure up to the most. */
const RELISTEN_FIRST_MS = 100;
const RELISTEN_MOST_MS = 5_000;
/** What the listening connection is called in pg_stat_activity. */
export const LISTENER_APPLICATION_NAME = 'purse listen';

/**
 * One connection of its own, outside the pool (a pooled connection goes back to other work, and
 * LISTEN lasts the session), that listens again whenever it drops. A drop reports a gap at once
 * (caches forget now rather than hold what they may no longer hear about) and again once it
 * listens again (what changed between the two was never heard).
 */
class PgListener implements Listening {
  private client: pg.Client | undefined;
  private stopped = false;
  private waitMs = RELISTEN_FIRST_MS;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly url: string,
    private readonly channel: string,
    private readonly onMessage: (payload: string) => void,
    private readonly onGap: () => void,
  ) {
    if (!/^[a-z_]{1,63}$/.test(channel)) throw new Error(`a channel name is lower-case letters and _: ${channel}`);
    void this.connect();
  }

  private async connect(): Promise<void> {
    const client = new pg.Client({ connectionString: this.url, keepAlive: true, connectionTimeoutMillis: CONNECT_TIMEOUT_MS, application_name: LISTENER_APPLICATION_NAME });
    let gone = false;
    const drop = (): void => {
      if (gone) return;
      gone = true;
      if (this.client === client) this.client = undefined;
      client.end().catch(() => undefined);
      if (this.stopped) return;
      this.onGap();
      this.timer = setTimeout(() => void this.connect(), this.waitMs);
      this.timer.unref();
      this.waitMs = Math.min(this.waitMs * 2, RELISTEN_MOST_MS);
    };
    client.on('notification', (message) => {
      if (message.channel === this.channel) this.onMessage(message.payload ?? '');
    });
    client.on('error', drop);
    client.on('end', drop);
    try {
      await client.connect();
      await client.query(`LISTEN ${this.channel}`);
    } catch {
      drop();
      return;
    }
    if (this.stopped) {
      gone = true;
      await client.end().catch(() => undefined);
      return;
    }
    this.client = client;
    this.waitMs = RELISTEN_FIRST_MS;
    this.onGap();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }
}
