// Seeds committed `external` recharges straight into the database, set-based, so that the growth
// benchmarks can have a million payments stored in seconds. Everything it writes is what the
// services would have written — payments, ledger transactions, both postings with their
// balance-after, account balances — so `purse ledger verify` stays clean afterwards.
import pg from 'pg';

import { CLI_ACTOR } from '../src/auth/principal.js';
import type { Context } from '../src/context.js';
import { CREDIT_REFERENCE, requireAccount } from '../src/ledger/postings.js';

const AMOUNT_MINOR = 100;

/** Adds `users` new people with `perUser` committed payments of 1.00 each; returns their ids. */
export async function seedPayments(ctx: Context, users: number, perUser: number, label: string): Promise<number[]> {
  const created: { id: number }[] = [];
  for (let i = 0; i < users; i++) created.push(await ctx.pipeline.perform('user.create', { username: `${label}-${i}` }, CLI_ACTOR));
  const userIds = created.map((u) => u.id);
  const total = users * perUser;
  const series = ctx.db.engine === 'postgres' ? 'SELECT generate_series(1, ?) AS n' : 'WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < ?) SELECT n FROM s';
  const startMs = Date.now() - total;
  await ctx.db.write(async (tx) => {
    const system = await tx.get<{ id: number; balance_minor: number }>("SELECT id, balance_minor FROM ledger_accounts WHERE code = 'system:external'");
    if (system === undefined) throw new Error('no system:external account');
    const before = await tx.get<{ t: number; p: number }>('SELECT (SELECT COALESCE(MAX(id), 0) FROM ledger_transactions) AS t, (SELECT COALESCE(MAX(id), 0) FROM recharge_payments) AS p');
    const t0 = before?.t ?? 0;
    const p0 = before?.p ?? 0;
    await tx.run('CREATE TABLE IF NOT EXISTS seed_map (u BIGINT PRIMARY KEY, user_id BIGINT NOT NULL, account_id BIGINT NOT NULL)');
    await tx.run('DELETE FROM seed_map');
    for (const [u, userId] of userIds.entries()) {
      const account = await requireAccount(tx, userId, CREDIT_REFERENCE);
      await tx.run('INSERT INTO seed_map (u, user_id, account_id) VALUES (?, ?, ?)', [u, userId, account.id]);
    }
    const from = `FROM (${series}) s JOIN seed_map m ON m.u = (s.n - 1) / ${perUser}`;
    await tx.run(`INSERT INTO ledger_transactions (id, kind, provider, payment_id, description, actor, created_at_ms) SELECT ${t0} + s.n, 'recharge', 'external', ${p0} + s.n, '', 'seed', ${startMs} + s.n ${from}`, [total]);
    await tx.run(
      `INSERT INTO recharge_payments (id, provider, user_id, amount_minor, currency, state, description, params, created_at_ms, updated_at_ms, expires_at_ms)
       SELECT ${p0} + s.n, 'external', m.user_id, ${AMOUNT_MINOR}, '${ctx.config.currency}', 'committed', '', '{"amount":1}', ${startMs} + s.n, ${startMs} + s.n, ${startMs} + s.n + 1800000 ${from}`,
      [total],
    );
    await tx.run(
      `INSERT INTO ledger_postings (transaction_id, account_id, amount_minor, balance_after_minor, created_at_ms)
       SELECT ${t0} + s.n, m.account_id, ${AMOUNT_MINOR}, ${AMOUNT_MINOR} * ((s.n - 1) % ${perUser} + 1), ${startMs} + s.n ${from} ORDER BY s.n`,
      [total],
    );
    await tx.run(
      `INSERT INTO ledger_postings (transaction_id, account_id, amount_minor, balance_after_minor, created_at_ms)
       SELECT ${t0} + s.n, ${system.id}, ${-AMOUNT_MINOR}, ${system.balance_minor} - ${AMOUNT_MINOR} * s.n, ${startMs} + s.n ${from} ORDER BY s.n`,
      [total],
    );
    await tx.run(`UPDATE ledger_accounts SET balance_minor = ${AMOUNT_MINOR * perUser} WHERE id IN (SELECT account_id FROM seed_map)`);
    await tx.run(`UPDATE ledger_accounts SET balance_minor = balance_minor - ${AMOUNT_MINOR * total} WHERE id = ?`, [system.id]);
    await tx.run('DROP TABLE seed_map');
    if (ctx.db.engine === 'postgres') {
      await tx.get("SELECT setval(pg_get_serial_sequence('ledger_transactions', 'id'), (SELECT MAX(id) FROM ledger_transactions))");
      await tx.get("SELECT setval(pg_get_serial_sequence('recharge_payments', 'id'), (SELECT MAX(id) FROM recharge_payments))");
    }
  });
  // A million rows written in one statement leave the planner's statistics and the visibility map
  // behind: without the map a count over an index still visits every row in the table. Autovacuum
  // would catch up in a deployment (this machine's PostgreSQL runs without it); VACUUM ANALYZE does
  // now what it would have done by the time the store is that big. VACUUM runs outside a transaction.
  if (ctx.config.database.engine === 'postgres') {
    const client = new pg.Client({ connectionString: ctx.config.database.url });
    await client.connect();
    await client.query('VACUUM ANALYZE');
    await client.end();
  }
  return userIds;
}
