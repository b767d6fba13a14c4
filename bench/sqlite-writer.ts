// SQLite's writer alone, without HTTP, at a fixed rate: how much of the event loop its commits take,
// and how long a unit waits for its answer (from when it was due). What HTTP requests would have of
// the loop is what the writer leaves; on a machine whose cores are all busy anyway (this bench's
// load generator shares them) that shows here before it shows in requests per second.
//
// A unit writes about what a recharge's commit does: three rows of ~600 bytes (one indexed on a
// random key) and an update of one hot row, ~2 KB of log.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';

import type { Db } from '../src/db/index.js';

import { percentile, round2 } from './fixed-rate.js';

export interface WriterResult {
  sent: number;
  achievedPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** The event loop's share of the run spent busy (performance.eventLoopUtilization), in percent. */
  loopBusyPercent: number;
  /** The -wal file's size at the end: bounded when checkpoints keep up. */
  walMb: number;
}

const PAYLOAD = 'x'.repeat(600);

/** Runs units at `ratePerSecond` for `seconds` on a fresh database that `open` opens at a file. */
export async function writerAtRate(open: (file: string) => Db, ratePerSecond: number, seconds: number): Promise<WriterResult> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'purse-bench-writer-'));
  const file = path.join(dir, 'writer.db');
  const db = open(file);
  try {
    await db.write(async (tx) => {
      await tx.run('CREATE TABLE rows (id INTEGER PRIMARY KEY, body TEXT NOT NULL, k REAL NOT NULL)');
      await tx.run('CREATE INDEX rows_k ON rows (k)');
      await tx.run('CREATE TABLE hot (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)');
      await tx.run('INSERT INTO hot (id, n) VALUES (1, 0)');
    });
    const unit = (): Promise<void> =>
      db.write(async (tx) => {
        for (let i = 0; i < 3; i++) await tx.run('INSERT INTO rows (body, k) VALUES (?, ?)', [PAYLOAD, Math.random()]);
        await tx.run('UPDATE hot SET n = n + 1 WHERE id = 1');
      });
    const total = Math.round(ratePerSecond * seconds);
    const latenciesMs: number[] = [];
    const startMs = performance.now();
    const loopBefore = performance.eventLoopUtilization();
    const pending: Promise<void>[] = [];
    for (let i = 0; i < total; i++) {
      const dueMs = startMs + (i * 1000) / ratePerSecond;
      const waitMs = dueMs - performance.now();
      if (waitMs > 1) await new Promise((resolve) => setTimeout(resolve, waitMs));
      pending.push(unit().then(() => void latenciesMs.push(performance.now() - dueMs)));
    }
    await Promise.all(pending);
    const elapsedS = (performance.now() - startMs) / 1000;
    const loop = performance.eventLoopUtilization(loopBefore);
    latenciesMs.sort((a, b) => a - b);
    return {
      sent: total,
      achievedPerSecond: Math.round(total / elapsedS),
      p50Ms: round2(percentile(latenciesMs, 0.5)),
      p99Ms: round2(percentile(latenciesMs, 0.99)),
      maxMs: round2(latenciesMs.at(-1) ?? 0),
      loopBusyPercent: Math.round(loop.utilization * 100),
      walMb: Math.round(fs.statSync(`${file}-wal`).size / 1e5) / 10,
    };
  } finally {
    await db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
