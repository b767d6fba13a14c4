// `purse serve`: one process, or — with --workers N on PostgreSQL — a primary that prepares the
// database once and N worker processes (node:cluster) sharing one port. The primary restarts a
// worker that dies (with a growing pause, and gives up when they keep dying) and, on SIGTERM or
// SIGINT, has every worker drain its in-flight requests before it exits.
import cluster, { type Worker } from 'node:cluster';

import { bootstrap, describeBootstrap } from './bootstrap.js';
import { CHANGES_CHANNEL } from './commands/pipeline.js';
import type { Config } from './config.js';
import { createContext } from './context.js';
import { AppError } from './errors.js';
import { startSweeper } from './recharge/sweeper.js';
import { buildServer, VERSION } from './server.js';

/** The first pause before a dead worker is replaced; it doubles with each recent death … */
const RESTART_FIRST_MS = 100;
const RESTART_MOST_MS = 10_000;
/** … and past this many deaths within RESTART_WINDOW_MS the primary stops everything: something is wrong for good. */
const MAX_RESTARTS = 10;
const RESTART_WINDOW_MS = 60_000;
/** Workers that have not finished draining this long after SIGTERM are killed. */
const DRAIN_TIMEOUT_MS = 60_000;

interface Listening {
  type: 'purse-listening';
  address: string;
}

function isListening(message: unknown): message is Listening {
  return typeof message === 'object' && message !== null && 'type' in message && message.type === 'purse-listening' && 'address' in message && typeof message.address === 'string';
}

export async function serve(config: Config): Promise<void> {
  if (config.workers === 1) return serveProcess(config, true);
  if (config.database.engine === 'sqlite') {
    throw new AppError('invalid', `--workers ${config.workers} (PURSE_WORKERS) needs PostgreSQL: SQLite's single writer lives in one process; serve SQLite with one worker, or set DATABASE_URL to a PostgreSQL database`);
  }
  return cluster.isPrimary ? runPrimary(config) : serveProcess(config, false);
}

/**
 * Serves HTTP in this process until SIGTERM or SIGINT, then drains. `primary`: it alone prepares the
 * database and prints; a cluster worker tells the primary its address instead.
 */
async function serveProcess(config: Config, primary: boolean): Promise<void> {
  const ctx = await createContext(config);
  if (primary) for (const line of describeBootstrap(await bootstrap(ctx))) console.log(line);
  const app = await buildServer(ctx);
  const sweeper = startSweeper(ctx, app.log);
  const dispatcher = ctx.dispatcher.start((fields, message) => {
    app.log.info(fields, message);
  });
  const changes = ctx.db.listen(
    CHANGES_CHANNEL,
    (payload) => {
      ctx.pipeline.changeNotified(payload);
    },
    () => {
      ctx.pipeline.forgetEverything();
    },
  );
  const shutdown = async (signal: string): Promise<void> => {
    app.log.info({ signal }, 'draining in-flight requests, then stopping');
    await app.close();
    await sweeper.stop();
    await dispatcher.stop();
    await changes.stop();
    await ctx.close();
    process.exit(0);
  };
  process.once('SIGTERM', (signal) => void shutdown(signal));
  process.once('SIGINT', (signal) => void shutdown(signal));
  const address = await app.listen({ host: config.host, port: config.port });
  if (primary) console.log(`Purse ${VERSION} on ${ctx.db.engine}: listening on ${address} — API reference at ${address}/docs`);
  else process.send?.({ type: 'purse-listening', address } satisfies Listening);
}

/** Migrations and the first start's administrator once, here; then the workers. */
async function runPrimary(config: Config): Promise<void> {
  const ctx = await createContext(config);
  try {
    for (const line of describeBootstrap(await bootstrap(ctx))) console.log(line);
  } finally {
    await ctx.close();
  }
  const deaths: number[] = [];
  let stopping = false;
  let announced = false;
  const listening = new Set<Worker>();

  const fork = (): void => {
    const worker = cluster.fork();
    worker.on('message', (message: unknown) => {
      if (!isListening(message)) return;
      listening.add(worker);
      if (announced || listening.size < config.workers) return;
      announced = true;
      console.log(`Purse ${VERSION} on postgres: ${config.workers} workers listening on ${message.address} — API reference at ${message.address}/docs`);
    });
  };

  cluster.on('exit', (worker, code, signal) => {
    listening.delete(worker);
    if (stopping) return;
    const nowMs = Date.now();
    deaths.push(nowMs);
    while (deaths.length > 0 && (deaths[0] ?? nowMs) < nowMs - RESTART_WINDOW_MS) deaths.shift();
    const how = signal === null ? `with code ${code}` : `by ${signal}`;
    if (deaths.length > MAX_RESTARTS) {
      console.error(`purse: workers died ${deaths.length} times within ${RESTART_WINDOW_MS / 1000} s (the last ${how}); stopping`);
      void stopAll('worker deaths', 1);
      return;
    }
    const pauseMs = Math.min(RESTART_FIRST_MS * 2 ** (deaths.length - 1), RESTART_MOST_MS);
    console.error(`purse: worker ${worker.process.pid ?? '?'} exited ${how}; starting another in ${pauseMs} ms`);
    setTimeout(() => {
      if (!stopping) fork();
    }, pauseMs);
  });

  const stopAll = async (reason: string, exitCode: number): Promise<void> => {
    if (stopping) return;
    stopping = true;
    console.error(`purse: ${reason}: every worker drains its in-flight requests, then stops`);
    const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined);
    const exited = workers.map(
      (w) =>
        new Promise<void>((resolve) => {
          if (w.isDead()) resolve();
          else w.once('exit', () => {
            resolve();
          });
        }),
    );
    for (const w of workers) w.process.kill('SIGTERM');
    const late = setTimeout(() => {
      for (const w of workers) if (!w.isDead()) w.process.kill('SIGKILL');
    }, DRAIN_TIMEOUT_MS);
    await Promise.all(exited);
    clearTimeout(late);
    process.exit(exitCode);
  };
  process.once('SIGTERM', (signal) => void stopAll(signal, 0));
  process.once('SIGINT', (signal) => void stopAll(signal, 0));
  for (let i = 0; i < config.workers; i++) fork();
  return Promise.resolve();
}
