// A writer thread that starts, then stops at the first thing it is sent: what the event loop's
// callers hear when the thread is gone.
import { parentPort } from 'node:worker_threads';

const port = parentPort;
if (port === null) throw new Error('a worker thread only');
port.on('message', () => {
  process.exit(1);
});
port.postMessage({ t: 'ready' });
