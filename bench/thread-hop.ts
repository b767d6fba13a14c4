// What a writer thread would cost the event loop per command: a command handed to a worker thread
// and its outcome and events handed back (structured clone both ways), 64 in flight, the worker
// answering at once. `node --import tsx bench/thread-hop.ts` prints each thread's busy time per
// command. BENCHMARKS.md ("Where the time goes") weighs it against the writer's share of the loop.
import { Worker } from 'node:worker_threads';

const COMMANDS = 100_000;
const IN_FLIGHT = 64;
const WARM_UP = 20_000;

const worker = new Worker(
  `const { parentPort } = require('node:worker_threads');
   const value = { id: 123, provider: 'external', user_id: 7, amount_minor: 100, currency: 'EUR', state: 'committed', description: '', params: '{"amount":1}', reason: null, created_at_ms: 1, updated_at_ms: 2, expires_at_ms: 3 };
   const data = { id: 123, userId: 7, amount: 1, currency: 'EUR', state: 'committed', created: '2026-12-08T00:00:00.000Z', updated: '2026-12-08T00:00:00.000Z', expires: '2026-12-08T00:30:00.000Z', paymentNo: 123, provider: 'external', description: '', params: { amount: 1 } };
   parentPort.on('message', (m) => parentPort.postMessage({ id: m.id, outcome: { ok: true, value }, events: [{ type: 'payment.committed', subject: 'payment:123', data }] }));`,
  { eval: true },
);
const command = { name: 'payment.commit', input: { reference: 'external', id: 123 }, actor: { kind: 'client', clientId: 'bench-client', userId: 1, rights: ['admin'], storedRights: 'admin' }, atMs: Date.now() };
const waiting = new Map<number, () => void>();
worker.on('message', (answer: { id: number }) => {
  waiting.get(answer.id)?.();
  waiting.delete(answer.id);
});
let next = 0;
const call = (): Promise<void> =>
  new Promise((resolve) => {
    const id = next++;
    waiting.set(id, resolve);
    worker.postMessage({ id, ...command });
  });

for (let i = 0; i < WARM_UP; i++) await call();
const mainBefore = performance.eventLoopUtilization();
const workerBefore = worker.performance.eventLoopUtilization();
const started = performance.now();
for (let done = 0; done < COMMANDS; done += IN_FLIGHT) await Promise.all(Array.from({ length: IN_FLIGHT }, call));
const wallMs = performance.now() - started;
const main = performance.eventLoopUtilization(mainBefore);
const thread = worker.performance.eventLoopUtilization(workerBefore);
console.log(`per command: event loop busy ${((main.active * 1000) / COMMANDS).toFixed(1)} µs, worker busy ${((thread.active * 1000) / COMMANDS).toFixed(1)} µs, wall ${((wallMs * 1000) / COMMANDS).toFixed(1)} µs`);
await worker.terminate();
