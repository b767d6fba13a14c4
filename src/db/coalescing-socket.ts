// A TCP socket that sends what was written to it in one event-loop turn as one write.
import net from 'node:net';

type WriteDone = (error?: Error | null) => void;

/**
 * node-postgres writes each query as it is asked for (pipeline mode), one system call each; on a
 * small machine a call to a local server costs tens of microseconds, most of a request's time (see
 * BENCHMARKS.md). Queries asked for in the same turn — a transaction's BEGIN and its first
 * statement, a read's page and its count — travel together: the first write of a turn corks the
 * socket and the check phase that ends the turn uncorks it. Nothing waits longer than that turn.
 */
export class CoalescingSocket extends net.Socket {
  private corkedForTurn = false;

  constructor() {
    super();
    // connect() puts net.Socket's own write back on the socket (net.js), so ours goes on after it.
    this.once('connect', () => {
      this.write = this.writeInTurn;
    });
  }

  private readonly writeInTurn = (chunk: string | Uint8Array, encodingOrDone?: BufferEncoding | WriteDone, done?: WriteDone): boolean => {
    this.corkForTurn();
    const encoding = typeof encodingOrDone === 'function' ? undefined : encodingOrDone;
    return net.Socket.prototype.write.call(this, chunk, encoding, typeof encodingOrDone === 'function' ? encodingOrDone : done);
  };

  private corkForTurn(): void {
    if (this.corkedForTurn) return;
    this.corkedForTurn = true;
    this.cork();
    setImmediate(() => {
      this.corkedForTurn = false;
      this.uncork();
    });
  }
}
