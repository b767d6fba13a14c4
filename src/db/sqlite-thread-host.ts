// The writer thread's side of sqlite-thread.ts: the SQLite writer (sqlite.ts, its group commit and
// fsync unchanged) runs here, with the commands' transactions (`answer`) and, statement by statement,
// the write units whose code stays on the event loop (start-up, webhook claims, sweeps, tests).
import type { MessagePort } from 'node:worker_threads';

import { errorToData, OtherwiseMarker, Outbox, type FromWriter, type Op, type ToWriter } from './sqlite-thread-protocol.js';
import type { Db, Tx } from './types.js';

/** The unit's own code failed, on the event loop: that side keeps the error itself. */
class RemoteUnitFailed extends Error {
  constructor() {
    super('the write unit failed on the event loop');
    this.name = 'RemoteUnitFailed';
  }
}

interface Run {
  tx: Tx;
  ended: (ok: boolean) => void;
}

export class WriterHost {
  private nextRun = 1;
  /** Remote units running now, by run: the batch waits on each in turn, so at most one. */
  private readonly runs = new Map<number, Run>();
  /** Answers go together once a turn of this thread's loop ends: a batch's callers hear back in one post. */
  private readonly outbox: Outbox<FromWriter>;

  constructor(
    private readonly db: Db,
    private readonly port: MessagePort,
    /** Answers a `call` (a command's transaction); runs on this thread, with `db`. */
    private readonly answer: (payload: unknown) => Promise<unknown>,
    /** After 'close': the writer has drained; ends the thread. */
    private readonly onClose: () => Promise<void>,
  ) {
    this.outbox = new Outbox(port, setImmediate);
    port.on('message', (messages: ToWriter[]) => {
      for (const message of messages) this.receive(message);
    });
  }

  ready(): void {
    this.post({ t: 'ready' });
  }

  private post(message: FromWriter, failed?: (error: unknown) => void): void {
    this.outbox.post(message, failed);
  }

  private receive(message: ToWriter): void {
    switch (message.t) {
      case 'unit':
        void this.unit(message.id);
        return;
      case 'op':
        void this.op(message.run, message.reply, message.body);
        return;
      case 'end':
        this.runs.get(message.run)?.ended(message.ok);
        return;
      case 'call':
        void this.call(message.id, message.payload);
        return;
      case 'close':
        void this.onClose();
        return;
    }
  }

  private async unit(id: number): Promise<void> {
    try {
      await this.db.write((tx) => this.runRemote(id, tx));
      this.post({ t: 'done', id, ok: true, value: undefined });
    } catch (error) {
      this.post(error instanceof RemoteUnitFailed ? { t: 'done', id, ok: false, error: errorToData(error), own: true } : { t: 'done', id, ok: false, error: errorToData(error) });
    }
  }

  /** One run of a remote unit: its statements arrive as 'op's until its code ends ('end'). */
  private runRemote(id: number, tx: Tx): Promise<void> {
    const run = this.nextRun++;
    return new Promise((resolve, reject) => {
      this.runs.set(run, {
        tx,
        ended: (ok) => {
          this.runs.delete(run);
          if (ok) resolve();
          else reject(new RemoteUnitFailed());
        },
      });
      this.post({ t: 'begin', id, run });
    });
  }

  private async op(run: number, reply: number, body: Op): Promise<void> {
    const tx = this.runs.get(run)?.tx;
    const failed = (error: unknown): void => {
      if (reply !== 0) this.post({ t: 'reply', reply, ok: false, error: errorToData(error) });
    };
    try {
      if (tx === undefined) throw new Error(`a statement for write unit run ${run}, which is not running`);
      const value = await perform(tx, body);
      if (reply !== 0) this.post({ t: 'reply', reply, ok: true, value }, failed);
    } catch (error) {
      failed(error);
    }
  }

  private async call(id: number, payload: unknown): Promise<void> {
    const failed = (error: unknown): void => {
      this.post({ t: 'done', id, ok: false, error: errorToData(error) });
    };
    try {
      this.post({ t: 'done', id, ok: true, value: await this.answer(payload) }, failed);
    } catch (error) {
      failed(error);
    }
  }
}

async function perform(tx: Tx, body: Op): Promise<FromWriterValue> {
  switch (body.op) {
    case 'get':
      return tx.get(body.sql, body.params);
    case 'all':
      return tx.all(body.sql, body.params);
    case 'run':
      return tx.run(body.sql, body.params);
    case 'later':
      tx.later(body.sql, body.params);
      return undefined;
    case 'laterOne':
      tx.laterOne(body.sql, body.params, new OtherwiseMarker(body.otherwise));
      return undefined;
    case 'flush':
      return tx.flush(body.read);
    case 'finish':
      if (body.read === undefined) throw new Error('finish needs its last statement');
      return tx.finish(body.read);
  }
}

type FromWriterValue = Extract<FromWriter, { t: 'reply'; ok: true }>['value'];
