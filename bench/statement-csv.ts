// Streams a long credit statement as CSV over HTTP and reports the server's peak RSS, to show
// the export runs in constant memory. Usage: node --import tsx bench/statement-csv.ts [entries]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { bootstrap } from '../src/bootstrap.js';
import { CLI_ACTOR } from '../src/auth/principal.js';
import { loadConfig } from '../src/config.js';
import { createContext } from '../src/context.js';
import { buildServer } from '../src/server.js';

const entries = Number(process.argv[2] ?? 100_000);
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'purse-bench-csv-'));
const config = { ...loadConfig({ dataDir, logLevel: 'warn', adminPassword: 'bench-password-1', bootstrapClientId: 'bench-client', bootstrapClientSecret: 'bench-secret-0123456789abcdef' }), port: 0 };
const ctx = await createContext(config);
await bootstrap(ctx);
const user = await ctx.users.create({ username: 'reader' }, CLI_ACTOR);

const UNIT_ROWS = 1000;
for (let done = 0; done < entries; done += UNIT_ROWS) {
  await ctx.db.write(async (tx) => {
    for (let i = 0; i < Math.min(UNIT_ROWS, entries - done); i++) {
      await ctx.ledger.creditUser(tx, { kind: 'manual', provider: 'manual', paymentId: null, description: `entry ${done + i}`, actor: CLI_ACTOR, userId: user.id, amountMinor: 1 + (i % 500) }, Date.now());
    }
  });
}

const app = await buildServer(ctx);
const address = await app.listen({ host: '127.0.0.1', port: 0 });
const token = await (await fetch(`${address}/api/auth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ grant_type: 'client_credentials', client_id: 'bench-client', client_secret: 'bench-secret-0123456789abcdef' }) })).json() as { access_token: string };

global.gc?.();
const baselineMb = process.memoryUsage().rss / 1e6;
let peakMb = baselineMb;
const sampler = setInterval(() => {
  peakMb = Math.max(peakMb, process.memoryUsage().rss / 1e6);
}, 5);
const started = performance.now();
const res = await fetch(`${address}/v3/users/${user.id}/accounts/credit/statement`, { headers: { authorization: `Bearer ${token.access_token}`, accept: 'text/csv' } });
let bytes = 0;
let lines = 0;
if (res.body === null) throw new Error('no body');
for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
  bytes += chunk.byteLength;
  for (const byte of chunk) if (byte === 10) lines++;
}
clearInterval(sampler);
const seconds = (performance.now() - started) / 1000;
console.log(`statement CSV: ${lines - 1} entries, ${(bytes / 1e6).toFixed(1)} MB in ${seconds.toFixed(2)} s; RSS before ${baselineMb.toFixed(0)} MB, peak during export ${peakMb.toFixed(0)} MB (process max ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB)`);
await app.close();
await ctx.close();
fs.rmSync(dataDir, { recursive: true, force: true });
