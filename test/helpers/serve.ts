// A real `purse serve` in a child process on a test database, for the tests that kill it.
import { spawn, spawnSync, type ChildProcess, type SpawnSyncReturns } from 'node:child_process';

import { ADMIN_PASSWORD, BOOT_CLIENT_ID, BOOT_CLIENT_SECRET, type TestDatabase } from './harness.js';

const MAIN = ['--import', 'tsx', 'src/main.ts'];
const START_TIMEOUT_MS = 30_000;

export interface ServedPurse {
  child: ChildProcess;
  url: string;
  /** SIGKILL, and wait for the process to be gone. */
  kill(): Promise<void>;
}

/** The environment that points `purse` at this database, with the harness's bootstrap secrets. */
export function purseEnv(database: TestDatabase): Record<string, string> {
  return {
    PURSE_DATA_DIR: database.dataDir,
    DATABASE_URL: database.target.engine === 'sqlite' ? `sqlite:${database.target.file}` : database.target.url,
    LOG_LEVEL: 'warn',
    PURSE_BOOTSTRAP_CLIENT_ID: BOOT_CLIENT_ID,
    PURSE_BOOTSTRAP_CLIENT_SECRET: BOOT_CLIENT_SECRET,
    PURSE_ADMIN_PASSWORD: ADMIN_PASSWORD,
  };
}

export async function servePurse(database: TestDatabase, extraEnv: Record<string, string> = {}): Promise<ServedPurse> {
  const child = spawn(process.execPath, [...MAIN, 'serve', '--port', '0'], { env: { ...process.env, ...purseEnv(database), ...extraEnv } });
  let stdout = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`serve did not start: ${stdout}`));
    }, START_TIMEOUT_MS);
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const match = /listening on (\S+)/.exec(stdout);
      if (match?.[1] !== undefined) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  return {
    child,
    url,
    kill: async () => {
      child.kill('SIGKILL');
      await exited;
    },
  };
}

/** Runs `purse ARGS…` on the same database and waits for it. */
export function purseCli(database: TestDatabase, args: string[]): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [...MAIN, ...args], { env: { ...process.env, ...purseEnv(database) }, encoding: 'utf8' });
}
