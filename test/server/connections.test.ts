// Slow and idle connections are cut off, and the number of open connections is capped, so that a
// client that never finishes its request cannot hold a descriptor for ever (issue: 1,074 stalled
// requests exhausted 1,024 descriptors and /health failed).
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';

import { ENGINES, startApp, type TestApp } from '../helpers/harness.js';

/** Generous: the limits below are 1–2 s; this only stops a broken server from hanging the suite. */
const GIVE_UP_MS = 15_000;

interface Closed {
  /** What the server wrote before it closed the connection. */
  received: string;
  elapsedMs: number;
}

function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port }, () => {
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

/** Resolves when the server closes the socket, with what it sent; rejects if it never does. */
function closedByServer(socket: net.Socket): Promise<Closed> {
  const startedMs = Date.now();
  let received = '';
  socket.on('data', (chunk: Buffer) => {
    received += chunk.toString('latin1');
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`server kept the connection open for ${GIVE_UP_MS} ms; it had sent ${JSON.stringify(received)}`));
    }, GIVE_UP_MS);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve({ received, elapsedMs: Date.now() - startedMs });
    });
    socket.once('error', () => undefined);
  });
}

async function health(port: number): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${port}/health`);
  await res.arrayBuffer();
  return res.status;
}

for (const engine of ENGINES) {
  describe(`connections [${engine}]`, () => {
    let t: TestApp;
    let port: number;

    before(async () => {
      t = await startApp(engine, { headersTimeoutSeconds: 1, requestTimeoutSeconds: 2, keepAliveTimeoutSeconds: 1, maxConnections: 8 });
      await t.app.listen({ host: '127.0.0.1', port: 0 });
      const address = t.app.server.address();
      assert.ok(address !== null && typeof address === 'object');
      port = address.port;
    });
    after(() => t.close());

    test('headers that never finish: the connection is closed with a 408', async () => {
      const socket = await connect(port);
      const closed = closedByServer(socket);
      socket.write('GET /health HTTP/1.1\r\nHost: x\r\n'); // no blank line: the headers never end
      const { received } = await closed;
      assert.match(received, /^HTTP\/1\.1 408/);
    });

    test('a body that never finishes: the connection is closed with a 408', async () => {
      const socket = await connect(port);
      const closed = closedByServer(socket);
      socket.write('POST /api/auth/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"grant_type":');
      const { received } = await closed;
      assert.match(received, /^HTTP\/1\.1 408/);
    });

    test('an idle kept-alive connection is closed after the keep-alive timeout', async () => {
      const socket = await connect(port);
      const closed = closedByServer(socket);
      socket.write('GET /health HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n');
      const { received } = await closed;
      assert.match(received, /^HTTP\/1\.1 200/);
    });

    test('past the connection cap new connections are closed at once, and /health answers once they go', async () => {
      const stalled = await Promise.all(Array.from({ length: 8 }, () => connect(port)));
      // Each holds a started request so that none counts as idle.
      for (const socket of stalled) socket.write('GET /health HTTP/1.1\r\n');
      const extra = await connect(port);
      const refused = await closedByServer(extra);
      assert.equal(refused.received, '', 'a connection past the cap gets no answer, only a close');
      for (const socket of stalled) socket.destroy();
      await waitFor(async () => (await health(port)) === 200);
    });
  });
}

async function waitFor(check: () => Promise<boolean>): Promise<void> {
  const deadlineMs = Date.now() + GIVE_UP_MS;
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      // the server may still be closing the old sockets
    }
    if (Date.now() > deadlineMs) throw new Error('condition never held');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
