// Unique constraints by name, on both engines. PostgreSQL names the violated constraint in the
// error; SQLite names only the table and columns ("UNIQUE constraint failed: users.username_key"),
// so this table turns those into the names PostgreSQL gives the same constraints. Callers match
// names, never message text.

/** Constraint name → `table(columns)` as SQLite reports it. */
const UNIQUE_CONSTRAINTS = {
  users_username_key_key: 'users(username_key)',
  users_pin_key_key: 'users(pin_key)',
  user_cards_pkey: 'user_cards(card_key)',
  api_clients_pkey: 'api_clients(id)',
  ledger_accounts_code_key: 'ledger_accounts(code)',
  idempotency_records_pkey: 'idempotency_records(scope,idempotency_key)',
  singletons_pkey: 'singletons(name)',
} as const;

export type UniqueConstraint = keyof typeof UNIQUE_CONSTRAINTS;

const BY_COLUMNS = new Map<string, UniqueConstraint>(Object.entries(UNIQUE_CONSTRAINTS).map(([name, columns]) => [columns, name as UniqueConstraint]));

/** The name of the unique constraint this error violated, or undefined for any other error. */
export function uniqueViolation(error: unknown): UniqueConstraint | 'unknown' | undefined {
  if (typeof error !== 'object' || error === null || !('code' in error)) return undefined;
  if (error.code === '23505') {
    const name = 'constraint' in error ? error.constraint : undefined;
    return typeof name === 'string' && Object.hasOwn(UNIQUE_CONSTRAINTS, name) ? (name as UniqueConstraint) : 'unknown';
  }
  if (error.code !== 'SQLITE_CONSTRAINT_UNIQUE' && error.code !== 'SQLITE_CONSTRAINT_PRIMARYKEY') return undefined;
  return BY_COLUMNS.get(sqliteColumns(error)) ?? 'unknown';
}

/** "UNIQUE constraint failed: users.username_key" → "users(username_key)". */
function sqliteColumns(error: object): string {
  const message = 'message' in error && typeof error.message === 'string' ? error.message : '';
  const list = message.slice(message.indexOf(':') + 1).trim();
  const columns = list.split(',').map((c) => c.trim());
  const table = columns[0]?.split('.')[0] ?? '';
  return `${table}(${columns.map((c) => c.slice(c.indexOf('.') + 1)).join(',')})`;
}
