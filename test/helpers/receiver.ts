// A webhook receiver on loopback for tests: verifies every request with the standardwebhooks
// library and the secret it is given, and answers from a script of status codes.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

import { Webhook } from 'standardwebhooks';

export interface Received {
  id: string;
  body: { id: string; type: string; timestamp: string; data: Record<string, unknown> };
}

/** Verifies each request with the secret it is given; answers from a script. */
export class Receiver {
  readonly received: Received[] = [];
  readonly rejected: string[] = [];
  secret = '';
  /** Status codes to answer, in turn; 200 once they run out. */
  script: number[] = [];
  private server: http.Server | null = null;
  port = 0;

  async start(port = 0): Promise<void> {
    this.server = http.createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        try {
          const headers = Object.fromEntries(Object.entries(request.headers).map(([k, v]) => [k, String(v)]));
          const payload = new Webhook(this.secret).verify(body, headers) as Received['body'];
          this.received.push({ id: headers['webhook-id'] ?? '', body: payload });
        } catch (error) {
          this.rejected.push(String(error));
        }
        response.statusCode = this.script.shift() ?? 200;
        response.end();
      });
    });
    await new Promise<void>((resolve) => this.server?.listen(port, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/hooks`;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server?.closeAllConnections();
      this.server?.close(() => { resolve(); });
    });
  }

  types(): string[] {
    return this.received.map((r) => r.body.type);
  }
}

