// The entry of SQLite's writer thread (db/sqlite-thread.ts): a context of its own around the writer,
// whose pipeline runs the transactions the event loop's pipeline sends it.
import { parentPort, workerData } from 'node:worker_threads';

import type { Config } from './config.js';
import { createContext } from './context.js';
import { CommitHorizon } from './db/commit-horizon.js';
import { WriterHost } from './db/sqlite-thread-host.js';
import { startFailure } from './db/sqlite-thread-protocol.js';
import type { WriterThreadData } from './db/sqlite-thread.js';
import type { Transaction } from './commands/pipeline.js';

const port = parentPort;
if (port === null) throw new Error('writer-thread.ts runs as a worker thread (SqliteThreadDb starts it)');
const data = workerData as WriterThreadData & { config: Config };

try {
  const ctx = await createContext(data.config, undefined, { writerThread: { horizon: new CommitHorizon(data.horizon) } });
  const close = async (): Promise<void> => {
    await ctx.close();
    process.exit(0);
  };
  new WriterHost(ctx.db, port, (payload) => ctx.pipeline.answer(payload as Transaction), close).ready();
} catch (error) {
  port.postMessage(startFailure(error));
}
