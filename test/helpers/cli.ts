// The `purse` command line as a real process, for tests: one command run to its end (blocking, or
// not, when the test must keep working meanwhile), and `purse serve` started until stopped.
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';

import { ADMIN_PASSWORD, BOOT_CLIENT_ID, BOOT_CLIENT_SECRET, type TestDatabase } from './harness.js';

export const MAIN = ['--import', 'tsx', 'src/main.ts'];

export interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs one command to its end; the test's event loop waits with it. */
export function purse(args: string[], env: Record<string, string> = {}, input?: string): Run {
  const result = spawnSync(process.execPath, [...MAIN, ...args], { env: { ...process.env, ...env }, input, encoding: 'utf8' });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Runs one command to its end while the test goes on (say, writing through a server). */
export function purseAsync(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [...MAIN, ...args], { env: { ...process.env, ...env }, encoding: 'utf8' }, (error, stdout, stderr) => {
      resolve({ status: error === null ? 0 : typeof error.code === 'number' ? error.code : null, stdout, stderr });
    });
  });
}

/** The settings that point the command line at a test database. */
export const envFor = (database: TestDatabase): Record<string, string> => ({
  PURSE_DATA_DIR: database.dataDir,
  DATABASE_URL: database.target.engine === 'sqlite' ? `sqlite:${database.target.file}` : database.target.url,
  LOG_LEVEL: 'silent',
});

/** The first start's administrator and client, known to the test (the harness's), so nothing secret is printed. */
export const KNOWN_FIRST_START: Readonly<Record<string, string>> = {
  PURSE_ADMIN_PASSWORD: ADMIN_PASSWORD,
  PURSE_BOOTSTRAP_CLIENT_ID: BOOT_CLIENT_ID,
  PURSE_BOOTSTRAP_CLIENT_SECRET: BOOT_CLIENT_SECRET,
};

export interface Serving {
  child: ChildProcess;
  url: string;
  stdout(): string;
  /** Sends the signal and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

const START_TIMEOUT_MS = 30_000;

/** `purse serve` on a free port, once it listens. */
export async function serve(env: Record<string, string>): Promise<Serving> {
  const child = spawn(process.execPath, [...MAIN, 'serve', '--port', '0'], { env: { ...process.env, ...env } });
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
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  return {
    child,
    url,
    stdout: () => stdout,
    stop: (signal = 'SIGTERM') => {
      child.kill(signal);
      return exited;
    },
  };
}
