// SQL of the users module: people, their credentials and login cards.
import type { SqlValue, ReadTx, Tx } from '../db/index.js';
import { where } from '../db/where.js';

export interface UserRow {
  id: number;
  username: string;
  fullname: string;
  email: string;
  code: string;
  lang: string;
  phone: string;
  notes: string;
  active: number;
  rights: string;
  password_hash: string | null;
  pin_hash: string | null;
}

/** Column values a write may set; `*_key` columns are lookup keys derived by the service. */
export interface UserColumns {
  username?: string;
  username_key?: string;
  fullname?: string;
  email?: string;
  email_key?: string;
  code?: string;
  lang?: string;
  phone?: string;
  notes?: string;
  active?: number;
  rights?: string;
  password_hash?: string;
  pin_hash?: string;
  pin_key?: string;
}

const COLUMNS = 'id, username, fullname, email, code, lang, phone, notes, active, rights, password_hash, pin_hash';

export async function insertUser(tx: Tx, columns: UserColumns, nowMs: number): Promise<number> {
  const entries = Object.entries(columns).filter(([, v]) => v !== undefined) as [string, SqlValue][];
  const names = [...entries.map(([k]) => k), 'created_at_ms', 'updated_at_ms'];
  const values = [...entries.map(([, v]) => v), nowMs, nowMs];
  const row = await tx.get<{ id: number }>(
    `INSERT INTO users (${names.join(', ')}) VALUES (${names.map(() => '?').join(', ')}) RETURNING id`,
    values,
  );
  if (row === undefined) throw new Error('INSERT … RETURNING gave no row');
  return row.id;
}

export async function updateUser(tx: Tx, id: number, columns: UserColumns, nowMs: number): Promise<boolean> {
  const entries = Object.entries(columns).filter(([, v]) => v !== undefined) as [string, SqlValue][];
  const sets = [...entries.map(([k]) => `${k} = ?`), 'updated_at_ms = ?'];
  const result = await tx.run(`UPDATE users SET ${sets.join(', ')} WHERE id = ?`, [...entries.map(([, v]) => v), nowMs, id]);
  return result.changes === 1;
}

export function getUser(q: ReadTx, id: number): Promise<UserRow | undefined> {
  return q.get<UserRow>(`SELECT ${COLUMNS} FROM users WHERE id = ?`, [id]);
}

export function getUserByUsernameKey(q: ReadTx, usernameKey: string): Promise<UserRow | undefined> {
  return q.get<UserRow>(`SELECT ${COLUMNS} FROM users WHERE username_key = ?`, [usernameKey]);
}

export function getUserByPinKey(q: ReadTx, pinKey: string): Promise<UserRow | undefined> {
  return q.get<UserRow>(`SELECT ${COLUMNS} FROM users WHERE pin_key = ?`, [pinKey]);
}

export function getUserByCardKey(q: ReadTx, cardKey: string): Promise<UserRow | undefined> {
  return q.get<UserRow>(`SELECT ${COLUMNS.replace(/(\w+)/g, 'u.$1')} FROM users u JOIN user_cards c ON c.user_id = u.id WHERE c.card_key = ?`, [cardKey]);
}

/** username_key → id for the keys that exist, in chunks that stay under every engine's parameter limit. */
export async function idsByUsernameKeys(q: ReadTx, keys: readonly string[]): Promise<Map<string, number>> {
  const found = new Map<string, number>();
  const CHUNK = 500;
  for (let i = 0; i < keys.length; i += CHUNK) {
    const chunk = keys.slice(i, i + CHUNK);
    const rows = await q.all<{ id: number; username_key: string }>(`SELECT id, username_key FROM users WHERE username_key IN (${chunk.map(() => '?').join(', ')})`, chunk);
    for (const row of rows) found.set(row.username_key, row.id);
  }
  return found;
}

export interface UserFilter {
  usernameKey?: string;
  emailKey?: string;
  cardKey?: string;
  code?: string;
  active?: number;
}

function whereClause(filter: UserFilter): { sql: string; params: SqlValue[] } {
  const { sql, params } = where([
    ['username_key = ?', filter.usernameKey],
    ['email_key = ?', filter.emailKey],
    ['id IN (SELECT user_id FROM user_cards WHERE card_key = ?)', filter.cardKey],
    ['code = ?', filter.code],
    ['active = ?', filter.active],
  ]);
  return { sql: `WHERE ${sql}`, params };
}

export async function findUsers(q: ReadTx, filter: UserFilter, limit: number, start: number): Promise<{ rows: UserRow[]; count: number }> {
  const where = whereClause(filter);
  const rows = await q.all<UserRow>(`SELECT ${COLUMNS} FROM users ${where.sql} ORDER BY id LIMIT ? OFFSET ?`, [...where.params, limit, start]);
  const total = await q.get<{ n: number }>(`SELECT COUNT(*) AS n FROM users ${where.sql}`, where.params);
  return { rows, count: total?.n ?? 0 };
}

export async function replaceCards(tx: Tx, userId: number, cardKeys: readonly string[], nowMs: number): Promise<void> {
  await tx.run('DELETE FROM user_cards WHERE user_id = ?', [userId]);
  for (const cardKey of cardKeys) await addCard(tx, userId, cardKey, nowMs);
}

export async function addCard(tx: Tx, userId: number, cardKey: string, nowMs: number): Promise<void> {
  await tx.run('INSERT INTO user_cards (card_key, user_id, created_at_ms) VALUES (?, ?, ?)', [cardKey, userId, nowMs]);
}
