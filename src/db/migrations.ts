// Versioned schema migrations, the same schema on both engines. Applied at start and by
// `purse migrate`; each version runs once, in its own transaction, recorded in schema_migrations.
import { POSTGRES_REQUIRE_FUNCTION } from './requirements.js';
import type { Db, Engine } from './types.js';

interface Migration {
  version: number;
  name: string;
  /** Statements with `{id}` standing for the engine's auto-increment primary key, `{txorder}` for the writing transaction's position. */
  statements: readonly string[];
}

// Timestamps are BIGINT milliseconds since the epoch (`_at_ms`), money BIGINT minor units
// (`_minor`), flags INTEGER 0/1: the types both engines read back identically.
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'identity: users, login cards, API clients, refresh tokens, audit log',
    statements: [
      `CREATE TABLE users (
        id {id},
        username TEXT NOT NULL,
        username_key TEXT NOT NULL UNIQUE,
        fullname TEXT NOT NULL DEFAULT '',
        email TEXT NOT NULL DEFAULT '',
        email_key TEXT NOT NULL DEFAULT '',
        code TEXT NOT NULL DEFAULT '',
        lang TEXT NOT NULL DEFAULT '',
        phone TEXT NOT NULL DEFAULT '',
        notes TEXT NOT NULL DEFAULT '',
        active INTEGER NOT NULL DEFAULT 1,
        rights TEXT NOT NULL DEFAULT '',
        password_hash TEXT,
        pin_hash TEXT,
        pin_key TEXT UNIQUE,
        created_at_ms BIGINT NOT NULL,
        updated_at_ms BIGINT NOT NULL
      )`,
      'CREATE INDEX users_email_key ON users (email_key)',
      'CREATE INDEX users_code ON users (code)',
      `CREATE TABLE user_cards (
        card_key TEXT PRIMARY KEY,
        user_id BIGINT NOT NULL REFERENCES users (id),
        created_at_ms BIGINT NOT NULL
      )`,
      'CREATE INDEX user_cards_user_id ON user_cards (user_id)',
      `CREATE TABLE api_clients (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        secret_hash TEXT NOT NULL,
        scopes TEXT NOT NULL,
        user_id BIGINT NOT NULL REFERENCES users (id),
        created_at_ms BIGINT NOT NULL,
        revoked_at_ms BIGINT
      )`,
      `CREATE TABLE token_families (
        id TEXT PRIMARY KEY,
        client_id TEXT NOT NULL REFERENCES api_clients (id),
        user_id BIGINT NOT NULL REFERENCES users (id),
        created_at_ms BIGINT NOT NULL,
        revoked_at_ms BIGINT
      )`,
      `CREATE TABLE refresh_tokens (
        token_key TEXT PRIMARY KEY,
        family_id TEXT NOT NULL REFERENCES token_families (id),
        scopes TEXT NOT NULL,
        expires_at_ms BIGINT NOT NULL,
        used_at_ms BIGINT,
        created_at_ms BIGINT NOT NULL
      )`,
      'CREATE INDEX refresh_tokens_family_id ON refresh_tokens (family_id)',
      `CREATE TABLE audit_log (
        id {id},
        at_ms BIGINT NOT NULL,
        actor_user_id BIGINT,
        actor_client_id TEXT,
        action TEXT NOT NULL,
        subject TEXT NOT NULL,
        detail TEXT NOT NULL DEFAULT ''
      )`,
    ],
  },
  {
    version: 2,
    name: 'ledger, recharge providers and payments, idempotency keys',
    statements: [
      `CREATE TABLE ledger_accounts (
        id {id},
        code TEXT NOT NULL UNIQUE,
        user_id BIGINT REFERENCES users (id),
        reference TEXT NOT NULL,
        kind TEXT NOT NULL,
        name TEXT NOT NULL,
        currency TEXT NOT NULL,
        balance_minor BIGINT NOT NULL DEFAULT 0,
        overdraft_limit_minor BIGINT,
        created_at_ms BIGINT NOT NULL
      )`,
      'CREATE UNIQUE INDEX ledger_accounts_user_reference ON ledger_accounts (user_id, reference)',
      `CREATE TABLE ledger_transactions (
        id {id},
        kind TEXT NOT NULL,
        provider TEXT NOT NULL,
        payment_id BIGINT,
        description TEXT NOT NULL DEFAULT '',
        actor TEXT NOT NULL DEFAULT '',
        created_at_ms BIGINT NOT NULL
      )`,
      `CREATE TABLE ledger_postings (
        id {id},
        transaction_id BIGINT NOT NULL REFERENCES ledger_transactions (id),
        account_id BIGINT NOT NULL REFERENCES ledger_accounts (id),
        amount_minor BIGINT NOT NULL,
        balance_after_minor BIGINT NOT NULL,
        created_at_ms BIGINT NOT NULL
      )`,
      'CREATE INDEX ledger_postings_account_id ON ledger_postings (account_id, id)',
      'CREATE INDEX ledger_postings_transaction_id ON ledger_postings (transaction_id)',
      'CREATE INDEX ledger_transactions_payment_id ON ledger_transactions (payment_id)',
      // Every person already there gets the credit account that new people get at creation.
      `INSERT INTO ledger_accounts (code, user_id, reference, kind, name, currency, balance_minor, overdraft_limit_minor, created_at_ms)
       SELECT 'user:' || id || ':credit', id, 'credit', 'credit', 'Credit', '{currency}', 0, 0, created_at_ms FROM users`,
      `CREATE TABLE recharge_providers (
        reference TEXT PRIMARY KEY,
        enabled INTEGER NOT NULL DEFAULT 1,
        updated_at_ms BIGINT NOT NULL
      )`,
      `CREATE TABLE recharge_payments (
        id {id},
        provider TEXT NOT NULL,
        user_id BIGINT NOT NULL REFERENCES users (id),
        amount_minor BIGINT NOT NULL,
        currency TEXT NOT NULL,
        state TEXT NOT NULL,
        description TEXT NOT NULL DEFAULT '',
        params TEXT NOT NULL DEFAULT '{}',
        reason TEXT,
        created_at_ms BIGINT NOT NULL,
        updated_at_ms BIGINT NOT NULL,
        expires_at_ms BIGINT NOT NULL
      )`,
      'CREATE INDEX recharge_payments_state_expires ON recharge_payments (state, expires_at_ms)',
      'CREATE INDEX recharge_payments_provider_created ON recharge_payments (provider, created_at_ms)',
      // Serves the list filtered by person (and state) in id order, and counts it from the index alone.
      'CREATE INDEX recharge_payments_provider_user ON recharge_payments (provider, user_id, state, id)',
      `CREATE TABLE idempotency_keys (
        scope TEXT NOT NULL,
        idempotency_key TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        status_code INTEGER NOT NULL,
        response_body TEXT NOT NULL,
        created_at_ms BIGINT NOT NULL,
        PRIMARY KEY (scope, idempotency_key)
      )`,
    ],
  },
  {
    version: 3,
    name: 'vouchers: batches and codes (as keyed hashes only)',
    statements: [
      `CREATE TABLE voucher_batches (
        id {id},
        quantity INTEGER NOT NULL,
        value_minor BIGINT NOT NULL,
        currency TEXT NOT NULL,
        valid_until_ms BIGINT NOT NULL,
        prefix TEXT NOT NULL DEFAULT '',
        description TEXT NOT NULL DEFAULT '',
        created_by TEXT NOT NULL,
        created_at_ms BIGINT NOT NULL,
        expired_at_ms BIGINT
      )`,
      `CREATE TABLE vouchers (
        id {id},
        batch_id BIGINT NOT NULL REFERENCES voucher_batches (id),
        code_key TEXT NOT NULL UNIQUE,
        state TEXT NOT NULL,
        payment_id BIGINT,
        used_at_ms BIGINT
      )`,
      'CREATE INDEX vouchers_batch_state ON vouchers (batch_id, state)',
      'CREATE INDEX vouchers_payment_id ON vouchers (payment_id)',
    ],
  },
  {
    version: 4,
    name: 'payment gateway: card and MB WAY payments, refunds',
    statements: [
      // Card data kept as PCI DSS allows: the first 6 and last 4 digits, never the CVV.
      `CREATE TABLE gateway_payments (
        id {id},
        payment_id TEXT NOT NULL UNIQUE,
        amount_minor BIGINT NOT NULL,
        currency TEXT NOT NULL,
        payment_method TEXT NOT NULL,
        status TEXT NOT NULL,
        decline_reason TEXT,
        card_bin TEXT,
        card_last4 TEXT,
        card_length INTEGER,
        card_name TEXT,
        card_exp_month TEXT,
        card_exp_year TEXT,
        phone_number TEXT,
        refunded_minor BIGINT NOT NULL DEFAULT 0,
        settled_at_ms BIGINT,
        settled_amount_minor BIGINT,
        recharge_payment_id BIGINT REFERENCES recharge_payments (id),
        credited_user_id BIGINT REFERENCES users (id),
        created_at_ms BIGINT NOT NULL,
        updated_at_ms BIGINT NOT NULL
      )`,
      'CREATE INDEX gateway_payments_created ON gateway_payments (created_at_ms)',
      'CREATE INDEX gateway_payments_status_created ON gateway_payments (status, created_at_ms)',
      'CREATE INDEX gateway_payments_recharge ON gateway_payments (recharge_payment_id)',
      `CREATE TABLE gateway_refunds (
        id {id},
        refund_id TEXT NOT NULL UNIQUE,
        payment_id TEXT NOT NULL REFERENCES gateway_payments (payment_id),
        amount_minor BIGINT NOT NULL,
        ledger_transaction_id BIGINT REFERENCES ledger_transactions (id),
        created_at_ms BIGINT NOT NULL
      )`,
      'CREATE INDEX gateway_refunds_payment_id ON gateway_refunds (payment_id)',
    ],
  },
  {
    version: 5,
    name: 'write pipeline: events outbox, idempotency records of command outcomes, first-start marker',
    statements: [
      // tx_order: the writing transaction's position, filled in by the engine (Dialect.settledHorizon).
      `CREATE TABLE events (
        id {id},
        tx_order {txorder},
        type TEXT NOT NULL,
        subject TEXT NOT NULL,
        data TEXT NOT NULL,
        occurred_at_ms BIGINT NOT NULL
      )`,
      // SQLite's tx_order is always 0: its primary key already reads in commit order.
      '{postgres} CREATE INDEX events_tx_order ON events (tx_order, id)',
      // The rights the actor held, as stored, when the command ran (NULL for the command line and Purse itself).
      'ALTER TABLE audit_log ADD COLUMN actor_rights TEXT',
      // Stored HTTP answers give way to stored command outcomes; keys live a day, so none is missed long.
      'DROP TABLE idempotency_keys',
      `CREATE TABLE idempotency_records (
        scope TEXT NOT NULL,
        idempotency_key TEXT NOT NULL,
        command TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        outcome TEXT NOT NULL,
        created_at_ms BIGINT NOT NULL,
        PRIMARY KEY (scope, idempotency_key)
      )`,
      'CREATE INDEX idempotency_records_created ON idempotency_records (created_at_ms)',
      // One row per thing that happens once per database (the first start), claimed by an INSERT.
      `CREATE TABLE singletons (
        name TEXT PRIMARY KEY,
        created_at_ms BIGINT NOT NULL
      )`,
      "INSERT INTO singletons (name, created_at_ms) SELECT 'bootstrap', {now} WHERE EXISTS (SELECT 1 FROM api_clients)",
    ],
  },
  {
    version: 6,
    name: 'spending: held amounts, charges, holds, refunds of charges, transfers',
    statements: [
      // What open holds reserve; changed only together with the balance, by one conditional UPDATE.
      'ALTER TABLE ledger_accounts ADD COLUMN held_minor BIGINT NOT NULL DEFAULT 0 CHECK (held_minor >= 0)',
      `CREATE TABLE charges (
        id {id},
        user_id BIGINT NOT NULL REFERENCES users (id),
        reference TEXT NOT NULL,
        amount_minor BIGINT NOT NULL CHECK (amount_minor > 0),
        refunded_minor BIGINT NOT NULL DEFAULT 0,
        currency TEXT NOT NULL,
        description TEXT NOT NULL DEFAULT '',
        external_id TEXT,
        hold_id BIGINT,
        balance_after_minor BIGINT NOT NULL,
        ledger_transaction_id BIGINT NOT NULL REFERENCES ledger_transactions (id),
        created_by TEXT NOT NULL,
        created_at_ms BIGINT NOT NULL,
        CHECK (refunded_minor >= 0 AND refunded_minor <= amount_minor)
      )`,
      'CREATE INDEX charges_account ON charges (user_id, reference, id)',
      'CREATE INDEX charges_account_created ON charges (user_id, reference, created_at_ms)',
      `CREATE TABLE holds (
        id {id},
        user_id BIGINT NOT NULL REFERENCES users (id),
        reference TEXT NOT NULL,
        amount_minor BIGINT NOT NULL CHECK (amount_minor > 0),
        currency TEXT NOT NULL,
        state TEXT NOT NULL,
        description TEXT NOT NULL DEFAULT '',
        captured_minor BIGINT,
        charge_id BIGINT REFERENCES charges (id),
        created_by TEXT NOT NULL,
        -- The user who placed it (NULL: the command line): besides chargeCredit, only they may capture or release it.
        placed_by_user_id BIGINT,
        created_at_ms BIGINT NOT NULL,
        updated_at_ms BIGINT NOT NULL,
        expires_at_ms BIGINT NOT NULL,
        CHECK (captured_minor IS NULL OR (captured_minor > 0 AND captured_minor <= amount_minor))
      )`,
      'CREATE INDEX holds_state_expires ON holds (state, expires_at_ms)',
      'CREATE INDEX holds_account ON holds (user_id, reference, state, id)',
      `CREATE TABLE charge_refunds (
        id {id},
        charge_id BIGINT NOT NULL REFERENCES charges (id),
        amount_minor BIGINT NOT NULL CHECK (amount_minor > 0),
        reason TEXT NOT NULL DEFAULT '',
        ledger_transaction_id BIGINT NOT NULL REFERENCES ledger_transactions (id),
        created_by TEXT NOT NULL,
        created_at_ms BIGINT NOT NULL
      )`,
      'CREATE INDEX charge_refunds_charge ON charge_refunds (charge_id, id)',
      `CREATE TABLE transfers (
        id {id},
        from_user_id BIGINT NOT NULL REFERENCES users (id),
        from_reference TEXT NOT NULL,
        to_user_id BIGINT NOT NULL REFERENCES users (id),
        to_reference TEXT NOT NULL,
        amount_minor BIGINT NOT NULL CHECK (amount_minor > 0),
        currency TEXT NOT NULL,
        description TEXT NOT NULL DEFAULT '',
        ledger_transaction_id BIGINT NOT NULL REFERENCES ledger_transactions (id),
        created_by TEXT NOT NULL,
        created_at_ms BIGINT NOT NULL
      )`,
      'CREATE INDEX transfers_from ON transfers (from_user_id, id)',
      'CREATE INDEX transfers_to ON transfers (to_user_id, id)',
    ],
  },
  {
    version: 7,
    name: 'webhooks: endpoints, deliveries and their attempts, the dispatcher position in the events',
    statements: [
      // The signing secret is stored sealed (AES-256-GCM under a key derived from PURSE_HASH_KEY), never in the clear.
      `CREATE TABLE webhooks (
        id TEXT PRIMARY KEY,
        url TEXT NOT NULL,
        events TEXT NOT NULL,
        description TEXT NOT NULL DEFAULT '',
        enabled INTEGER NOT NULL DEFAULT 1,
        secret_sealed TEXT NOT NULL,
        failing_since_ms BIGINT,
        disabled_reason TEXT,
        -- The newest event when it was registered: it hears of those after (by id, not by any clock).
        from_event_id BIGINT NOT NULL DEFAULT 0,
        created_by TEXT NOT NULL,
        created_at_ms BIGINT NOT NULL,
        updated_at_ms BIGINT NOT NULL
      )`,
      // One row per event and endpoint: the unique pair makes fanning out twice harmless.
      `CREATE TABLE webhook_deliveries (
        id {id},
        webhook_id TEXT NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
        event_id BIGINT NOT NULL REFERENCES events (id),
        event_type TEXT NOT NULL,
        state TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at_ms BIGINT NOT NULL,
        lease_until_ms BIGINT NOT NULL DEFAULT 0,
        last_status INTEGER,
        last_error TEXT,
        created_at_ms BIGINT NOT NULL,
        delivered_at_ms BIGINT,
        UNIQUE (webhook_id, event_id)
      )`,
      'CREATE INDEX webhook_deliveries_due ON webhook_deliveries (state, next_attempt_at_ms)',
      'CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries (webhook_id, id)',
      `CREATE TABLE webhook_attempts (
        id {id},
        delivery_id BIGINT NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
        webhook_id TEXT NOT NULL,
        attempted_at_ms BIGINT NOT NULL,
        status_code INTEGER,
        duration_ms INTEGER NOT NULL,
        error TEXT
      )`,
      'CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id, id)',
      // How far the dispatcher has read the events (tx_order, id): one row, locked while it fans out.
      `CREATE TABLE event_cursors (
        name TEXT PRIMARY KEY,
        tx_order BIGINT NOT NULL,
        event_id BIGINT NOT NULL
      )`,
      // No webhook existed before: the dispatcher starts after the events already there.
      "INSERT INTO event_cursors (name, tx_order, event_id) SELECT 'webhooks', COALESCE(MAX(tx_order), -1), COALESCE(MAX(id), 0) FROM events",
      // The client made at first start reaches everything, the new scope included.
      "UPDATE api_clients SET scopes = scopes || ' settings' WHERE name = 'bootstrap'",
      'CREATE INDEX audit_log_at ON audit_log (at_ms)',
      'CREATE INDEX audit_log_subject ON audit_log (subject, id)',
    ],
  },
  {
    version: 8,
    name: 'sessions: refresh-token families by person, which a change to the person revokes',
    statements: ['CREATE INDEX token_families_user_id ON token_families (user_id)'],
  },
  {
    version: 9,
    name: 'several processes: shared failure counts, the fingerprints of the server keys',
    statements: [
      // A failure limiter's window per key, shared by every process on PostgreSQL (auth/failure-windows.ts).
      `CREATE TABLE failure_windows (
        scope TEXT NOT NULL,
        key TEXT NOT NULL,
        window_start_ms BIGINT NOT NULL,
        failures INTEGER NOT NULL,
        pending INTEGER NOT NULL,
        PRIMARY KEY (scope, key)
      )`,
      'CREATE INDEX failure_windows_start ON failure_windows (scope, window_start_ms)',
      // What the first start's keys hash to: a process with other keys refuses to start (auth/keys.ts).
      `CREATE TABLE key_fingerprints (
        name TEXT PRIMARY KEY,
        fingerprint TEXT NOT NULL,
        recorded_at_ms BIGINT NOT NULL
      )`,
    ],
  },
  {
    version: 10,
    name: 'web login: one-time authorization codes (PKCE), stored so that any process may redeem them',
    statements: [
      // code_key is a keyed hash of the code; family_id is the session its tokens went to, revoked
      // when the code is presented again (RFC 6749 §4.1.2).
      `CREATE TABLE authorization_codes (
        code_key TEXT PRIMARY KEY,
        client_id TEXT NOT NULL REFERENCES api_clients (id),
        user_id BIGINT NOT NULL REFERENCES users (id),
        redirect_uri TEXT NOT NULL,
        code_challenge TEXT NOT NULL,
        scopes TEXT NOT NULL,
        expires_at_ms BIGINT NOT NULL,
        consumed_at_ms BIGINT,
        family_id TEXT,
        created_at_ms BIGINT NOT NULL
      )`,
      'CREATE INDEX authorization_codes_expires_at ON authorization_codes (expires_at_ms)',
    ],
  },
  {
    version: 11,
    name: 'checks inside statements: purse_require, so that COMMIT can travel with the last statement',
    // SQLite defines it on each connection (db/requirements.ts).
    statements: [`{postgres} ${POSTGRES_REQUIRE_FUNCTION}`],
  },
];

const ID_COLUMN: Readonly<Record<Engine, string>> = {
  sqlite: 'INTEGER PRIMARY KEY AUTOINCREMENT',
  postgres: 'BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY',
};

const TX_ORDER_COLUMN: Readonly<Record<Engine, string>> = {
  sqlite: 'BIGINT NOT NULL DEFAULT 0',
  postgres: 'BIGINT NOT NULL DEFAULT (pg_current_xact_id()::text::bigint)',
};

/** A statement only PostgreSQL needs (an index SQLite's single writer makes redundant). */
const POSTGRES_ONLY = '{postgres} ';

// Any fixed number: serializes concurrent `migrate` runs of several Purse processes on PostgreSQL.
const PG_MIGRATION_LOCK = 7_331_001;

export interface AppliedMigration {
  version: number;
  name: string;
}

/** The schema version this Purse writes: a database above it was written by a newer Purse. */
export const LATEST_SCHEMA_VERSION = Math.max(...MIGRATIONS.map((m) => m.version));

/** Applies every pending migration; returns those it applied, in order. */
export async function migrate(db: Db, currency: string, now = Date.now()): Promise<AppliedMigration[]> {
  if (!/^[A-Z]{3}$/.test(currency)) throw new Error(`currency must be an ISO 4217 code, got ${currency}`);
  await db.write(async (tx) => {
    // Two processes creating the table at once can both pass IF NOT EXISTS on PostgreSQL; the lock orders them.
    if (db.engine === 'postgres') await tx.get('SELECT pg_advisory_xact_lock(?)', [PG_MIGRATION_LOCK]);
    await tx.run('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at_ms BIGINT NOT NULL)');
  });
  const applied: AppliedMigration[] = [];
  for (const migration of MIGRATIONS) {
    const ran = await db.write(async (tx) => {
      if (db.engine === 'postgres') await tx.get('SELECT pg_advisory_xact_lock(?)', [PG_MIGRATION_LOCK]);
      const done = await tx.get('SELECT version FROM schema_migrations WHERE version = ?', [migration.version]);
      if (done !== undefined) return false;
      for (const statement of migration.statements) {
        if (statement.startsWith(POSTGRES_ONLY) && db.engine !== 'postgres') continue;
        await tx.run(statement.replace(POSTGRES_ONLY, '').replaceAll('{id}', ID_COLUMN[db.engine]).replaceAll('{txorder}', TX_ORDER_COLUMN[db.engine]).replaceAll('{currency}', currency).replaceAll('{now}', String(now)));
      }
      await tx.run('INSERT INTO schema_migrations (version, name, applied_at_ms) VALUES (?, ?, ?)', [migration.version, migration.name, now]);
      return true;
    });
    if (ran) applied.push({ version: migration.version, name: migration.name });
  }
  return applied;
}
