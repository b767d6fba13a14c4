// An open-loop load at a fixed rate: request i is due at start + i / rate, whether or not earlier
// ones have been answered, and its latency runs from when it was due to when its answer ended. A
// slow answer therefore delays nothing else, and a request that waited (for a free connection, or
// for this process's own event loop) is charged the wait: the latency a client at that rate sees.
//
// Why not autocannon's `overallRate`: autocannon 9 gives each connection a quota per second and
// lets it send that quota back to back from the start of every second, so 64 connections put 64
// requests in flight at once each second, and the latency measures that burst rather than the rate.
// Its coordinated-omission correction assumes an interval of ceil(1 / per-connection rate) ms = 1 ms,
// not the 64 ms each connection is meant to wait, and so adds samples that were never sent.
import http from 'node:http';

export interface FixedRateResult {
  /** Requests sent. */
  sent: number;
  /** Answers received per second of the run (from the first due time to the last answer). */
  achievedPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Non-2xx answers, connection errors and requests unanswered at the end. */
  errors: number;
}

export interface FixedRateOptions {
  url: string;
  ratePerSecond: number;
  seconds: number;
  /** Connections kept open at most; a request due while all are busy waits for one (and is charged the wait). */
  connections: number;
  path: () => string;
  headers: Record<string, string>;
  /** How long to wait for the last answers after the last request is due. */
  drainMs?: number;
}

/** The value below which `fraction` of the sorted samples lie (nearest rank). */
export function percentile(sorted: readonly number[], fraction: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.ceil(fraction * sorted.length) - 1;
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))] ?? 0;
}

export const round2 = (ms: number): number => Math.round(ms * 100) / 100;

export async function fixedRate(options: FixedRateOptions): Promise<FixedRateResult> {
  const { hostname, port } = new URL(options.url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: options.connections });
  const total = Math.round(options.ratePerSecond * options.seconds);
  const intervalMs = 1000 / options.ratePerSecond;
  const latenciesMs: number[] = [];
  let errors = 0;
  let answered = 0;
  let lastAnswerMs = 0;
  let sent = 0;
  const startMs = performance.now() + 10;

  const send = (dueMs: number): void => {
    const request = http.request({ agent, host: hostname, port, method: 'GET', path: options.path(), headers: options.headers }, (response) => {
      response.resume();
      response.on('end', () => {
        const nowMs = performance.now();
        answered++;
        lastAnswerMs = nowMs;
        if (response.statusCode !== undefined && response.statusCode >= 200 && response.statusCode < 300) latenciesMs.push(nowMs - dueMs);
        else errors++;
      });
    });
    request.on('error', () => {
      answered++;
      errors++;
    });
    request.end();
  };

  await new Promise<void>((resolve) => {
    // Every tick sends all requests due by now: a late timer sends a small batch, each charged from its own due time.
    const tick = (): void => {
      const nowMs = performance.now();
      while (sent < total && startMs + sent * intervalMs <= nowMs) send(startMs + sent++ * intervalMs);
      if (sent >= total) {
        resolve();
        return;
      }
      setTimeout(tick, Math.max(0, startMs + sent * intervalMs - performance.now()));
    };
    setTimeout(tick, 10);
  });
  const drainUntilMs = performance.now() + (options.drainMs ?? 5_000);
  while (answered < total && performance.now() < drainUntilMs) await new Promise((resolve) => setTimeout(resolve, 5));
  agent.destroy();
  errors += total - answered;
  latenciesMs.sort((a, b) => a - b);
  return {
    sent,
    achievedPerSecond: Math.round(latenciesMs.length / ((lastAnswerMs - startMs) / 1000)),
    p50Ms: round2(percentile(latenciesMs, 0.5)),
    p99Ms: round2(percentile(latenciesMs, 0.99)),
    maxMs: round2(latenciesMs.at(-1) ?? 0),
    errors,
  };
}
