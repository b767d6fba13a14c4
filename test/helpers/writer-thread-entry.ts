// A writer thread for tests of the database layer alone (SqliteThreadDb without Purse's commands):
// it serves the writer, and answers a call with what it was sent.
import { parentPort, workerData } from 'node:worker_threads';

import { CommitHorizon } from '../../src/db/commit-horizon.js';
import { SqliteDb } from '../../src/db/sqlite.js';
import { WriterHost } from '../../src/db/sqlite-thread-host.js';
import type { WriterThreadData } from '../../src/db/sqlite-thread.js';

const port = parentPort;
if (port === null) throw new Error('a worker thread only');
const data = workerData as WriterThreadData;
const db = new SqliteDb(data.file, new CommitHorizon(data.horizon));
const close = async (): Promise<void> => {
  await db.close();
  process.exit(0);
};
new WriterHost(db, port, (payload) => Promise.resolve(payload), close).ready();
