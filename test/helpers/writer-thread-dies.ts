// A writer thread that starts, begins the first unit it is sent, and stops at its first statement:
// what the event loop's callers hear when the thread is gone in the middle of a unit.
import { parentPort } from 'node:worker_threads';

import type { ToWriter } from '../../src/db/sqlite-thread-protocol.js';

const port = parentPort;
if (port === null) throw new Error('a worker thread only');
port.on('message', ([message]: ToWriter[]) => {
  if (message === undefined) return;
  if (message.t === 'unit') port.postMessage([{ t: 'begin', id: message.id, run: 1 }]);
  else process.exit(1);
});
port.postMessage([{ t: 'ready' }]);
