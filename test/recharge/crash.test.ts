// Crash rounds: a real `purse serve` under a create + commit load is killed with SIGKILL at a random
// moment, several times over. After each kill every commit that was acknowledged with a 200 is in
// the database exactly once (one posting, one event), `purse ledger verify` is clean, and after the
// restart a client retrying its unanswered commits with the same Idempotency-Key still counts each
// payment once. Both engines.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { openDb } from '../../src/db/index.js';
import { BOOT_CLIENT_ID, BOOT_CLIENT_SECRET, ENGINES, createTestDatabase, type TestDatabase } from '../helpers/harness.js';
import { envFor, KNOWN_FIRST_START, purse, serve, type Serving } from '../helpers/cli.js';

const ROUNDS = 3;
const CLIENTS = 12;
/** How long the load runs before the kill: random within this, so that kills land anywhere. */
const LOAD_MS = { min: 300, max: 900 };

interface Attempt {
  paymentId: number;
  amountMinor: number;
  commitKey: string;
}

async function tokenOf(server: Serving): Promise<string> {
  const res = await fetch(`${server.url}/api/auth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ grant_type: 'client_credentials', client_id: BOOT_CLIENT_ID, client_secret: BOOT_CLIENT_SECRET }),
  });
  assert.equal(res.status, 200);
  return ((await res.json()) as { access_token: string }).access_token;
}

/** POST with a key; undefined when the connection died (the server was killed mid-request). */
async function post(server: Serving, token: string, path: string, key: string, body?: unknown): Promise<{ status: number; json: unknown } | undefined> {
  try {
    const res = await fetch(`${server.url}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'idempotency-key': key, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, json: await res.json() };
  } catch {
    return undefined;
  }
}

const commitPath = (paymentId: number): string => `/v3/rechargeProviders/external/payments/${paymentId}/commit`;

for (const engine of ENGINES) {
  describe(`SIGKILL under a create + commit load, ${ROUNDS} rounds [${engine}]`, () => {
    let database: TestDatabase;
    before(async () => {
      database = await createTestDatabase(engine);
    });
    after(() => database.drop());

    test('every acknowledged commit is there exactly once, unanswered ones count once when retried, and the ledger verifies', async () => {
      const acknowledged = new Map<number, number>(); // payment id → amount_minor
      let unanswered: Attempt[] = [];
      for (let round = 1; round <= ROUNDS; round++) {
        const server = await serve({ ...envFor(database), ...KNOWN_FIRST_START });
        const token = await tokenOf(server);

        // The previous round's unanswered commits, retried with their keys: each counts at most once.
        for (const attempt of unanswered) {
          const res = await post(server, token, commitPath(attempt.paymentId), attempt.commitKey);
          assert.ok(res !== undefined && (res.status === 200 || res.status === 409), `retry of ${attempt.paymentId}: ${JSON.stringify(res)}`);
          if (res.status === 200) acknowledged.set(attempt.paymentId, attempt.amountMinor);
        }
        unanswered = [];

        let running = true;
        const load = Array.from({ length: CLIENTS }, async (_, client) => {
          for (let n = 0; running; n++) {
            const amountMinor = 100 * (1 + ((client + n) % 9));
            const created = await post(server, token, '/v3/rechargeProviders/external/payments', `r${round}-c${client}-n${n}-create`, { userId: 1, params: { amount: amountMinor / 100 } });
            if (created?.status !== 200) {
              assert.equal(created, undefined, `create: ${JSON.stringify(created)}`);
              return;
            }
            const attempt = { paymentId: Number((created.json as { id: string }).id), amountMinor, commitKey: `r${round}-c${client}-n${n}-commit` };
            const committed = await post(server, token, commitPath(attempt.paymentId), attempt.commitKey);
            if (committed?.status === 200) acknowledged.set(attempt.paymentId, amountMinor);
            else unanswered.push(attempt);
            if (committed === undefined) return;
          }
        });
        await new Promise((resolve) => setTimeout(resolve, LOAD_MS.min + Math.random() * (LOAD_MS.max - LOAD_MS.min)));
        await server.stop('SIGKILL');
        running = false;
        await Promise.all(load);

        await assertExactlyOnce(database, acknowledged, round);
        const verify = purse(['ledger', 'verify'], envFor(database));
        assert.equal(verify.status, 0, `round ${round}: ${verify.stdout}${verify.stderr}`);
      }
      assert.ok(acknowledged.size > ROUNDS, `the load acknowledged only ${acknowledged.size} commits`);
    });
  });
}

/** Each acknowledged payment: committed, one ledger transaction, one payment.committed event; the balance is the sum. */
async function assertExactlyOnce(database: TestDatabase, acknowledged: ReadonlyMap<number, number>, round: number): Promise<void> {
  const db = openDb(database.target, 2);
  try {
    const ids = [...acknowledged.keys()];
    const committed = await db.read((q) =>
      q.all<{ id: number; state: string; postings: number; events: number }>(
        `SELECT p.id, p.state,
                (SELECT COUNT(*) FROM ledger_transactions t WHERE t.payment_id = p.id) AS postings,
                (SELECT COUNT(*) FROM events e WHERE e.subject = 'payment:' || p.id AND e.type = 'payment.committed') AS events
           FROM recharge_payments p WHERE p.state = 'committed'`,
      ),
    );
    const byId = new Map(committed.map((row) => [row.id, row]));
    for (const id of ids) {
      const row = byId.get(id);
      assert.ok(row !== undefined, `round ${round}: acknowledged payment ${id} is not committed`);
      assert.equal(row.postings, 1, `round ${round}: payment ${id} has ${row.postings} ledger transactions`);
      assert.equal(row.events, 1, `round ${round}: payment ${id} has ${row.events} payment.committed events`);
    }
    for (const row of committed) assert.equal(row.postings, 1, `round ${round}: committed payment ${row.id} has ${row.postings} ledger transactions`);
    // Commits whose answer was lost may have landed too; the balance is every committed payment, each once.
    const balance = await db.read((q) => q.get<{ balance_minor: number }>('SELECT balance_minor FROM ledger_accounts WHERE user_id = 1'));
    const total = await db.read((q) => q.get<{ total: number | null }>("SELECT SUM(amount_minor) AS total FROM recharge_payments WHERE state = 'committed' AND user_id = 1"));
    assert.equal(balance?.balance_minor ?? 0, total?.total ?? 0, `round ${round}: balance and committed payments differ`);
  } finally {
    await db.close();
  }
}
