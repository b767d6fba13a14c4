// Prometheus metrics: requests and latency per route, plus the process's own (prom-client).
// Each server has its own registry, so several servers in one process (tests) do not collide.
import type { FastifyInstance } from 'fastify';
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';

export function installMetrics(app: FastifyInstance): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const labelNames = ['method', 'route', 'status_code'] as const;
  const requests = new Counter({ name: 'purse_http_requests_total', help: 'HTTP requests answered', labelNames, registers: [registry] });
  const latency = new Histogram({
    name: 'purse_http_request_duration_seconds',
    help: 'HTTP request latency',
    labelNames,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  // One pair of label children per method × route × status, looked up by a string key: prom-client
  // would otherwise hash the label object on every request.
  const children = new Map<string, { count: () => void; observe: (seconds: number) => void }>();
  app.addHook('onResponse', async (request, reply) => {
    // The route pattern, never the raw URL: ids in paths would make the label set unbounded.
    const route = request.routeOptions.url ?? 'unmatched';
    const key = `${request.method} ${route} ${reply.statusCode}`;
    let child = children.get(key);
    if (child === undefined) {
      const labels = [request.method, route, String(reply.statusCode)];
      const counter = requests.labels(...labels);
      const histogram = latency.labels(...labels);
      child = {
        count: () => {
          counter.inc();
        },
        observe: (seconds) => {
          histogram.observe(seconds);
        },
      };
      children.set(key, child);
    }
    child.count();
    child.observe(reply.elapsedTime / 1000);
  });
  return registry;
}
