// `npm test`: typecheck, lint, then every test file under test/ on SQLite and — when
// PURSE_TEST_DATABASE_URL is set — on PostgreSQL too. Says plainly when PostgreSQL was skipped.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import pg from 'pg';

function run(command, args, env = process.env) {
  const result = spawnSync(command, args, { stdio: 'inherit', env });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

function testFiles(dir) {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((entry) => {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) return testFiles(full);
      return entry.name.endsWith('.test.ts') ? [full] : [];
    })
    .sort();
}

const filter = process.argv.slice(2);
const pgUrl = process.env.PURSE_TEST_DATABASE_URL;

if (filter.length === 0) {
  console.log('» typecheck (server, then web app)');
  run('npx', ['tsc', '-p', 'tsconfig.json']);
  run('npx', ['tsc', '-p', 'web/tsconfig.json']);
  console.log('» lint');
  run('npx', ['eslint', '.']);
}

if (pgUrl === undefined || pgUrl === '') {
  console.log('» PostgreSQL run SKIPPED: PURSE_TEST_DATABASE_URL is not set, so the suite runs on SQLite only.');
  console.log('  (set it, e.g. PURSE_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres, to run both engines)');
} else {
  const client = new pg.Client({ connectionString: pgUrl, connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
    await client.end();
  } catch (error) {
    console.error(`» PostgreSQL at PURSE_TEST_DATABASE_URL cannot be reached: ${error.message}`);
    process.exit(1);
  }
  console.log('» engines: SQLite and PostgreSQL');
}

const files = filter.length > 0 ? filter : testFiles('test');
console.log(`» tests (${files.length} files)`);
run(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', '--test-timeout=300000', ...files]);
