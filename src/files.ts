// Files Purse writes for its operator — voucher codes, backups, a restore being staged — hold
// secrets or everyone's credit: each is a new file (never one that exists, so nothing is
// overwritten and no link someone planted is followed), readable by its owner only.
import fs from 'node:fs';

import { AppError, reasonOf } from './errors.js';

export class PrivateFile {
  private open = true;

  private constructor(
    readonly path: string,
    private readonly fd: number,
  ) {}

  /** Creates `file` exclusively with mode 0600; `what` names it in the refusal (`--csv`, `backup`). */
  static create(file: string, what: string): PrivateFile {
    try {
      return new PrivateFile(file, fs.openSync(file, 'wx', 0o600));
    } catch (error) {
      throw refusal(file, what, error);
    }
  }

  write(data: string | Uint8Array): void {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    // writeSync may write less than asked; the rest follows until all of it is down.
    for (let done = 0; done < bytes.length; ) done += fs.writeSync(this.fd, bytes, done, bytes.length - done);
  }

  /** Flushes to disk and closes; what was written is durable once this returns. */
  close(): void {
    if (!this.open) return;
    this.open = false;
    try {
      fs.fsyncSync(this.fd);
    } finally {
      fs.closeSync(this.fd);
    }
  }

  /** Closes and deletes it: what failed halfway leaves nothing behind. */
  remove(): void {
    if (this.open) {
      this.open = false;
      fs.closeSync(this.fd);
    }
    fs.rmSync(this.path, { force: true });
  }
}

function refusal(file: string, what: string, error: unknown): AppError {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'EEXIST') return new AppError('conflict', `${what}: ${file} already exists; Purse never overwrites a file, give a new name`);
  if (code === 'ENOENT') return new AppError('invalid', `${what}: cannot create ${file}: its directory does not exist`);
  return new AppError('invalid', `${what}: cannot create ${file}: ${reasonOf(error)}`);
}
