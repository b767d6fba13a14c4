// The two server keys: one signs access tokens, one keys the HMACs of login cards, PINs and
// refresh tokens. Taken from configuration, or generated once into the data directory (mode 0600).
// Several Purse processes on one PostgreSQL database must share both: set them in the environment.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

import type { Config } from '../config.js';

export interface ServerKeys {
  tokenKey: Uint8Array;
  hashKey: Buffer;
}

interface KeyFile {
  token_key: string;
  hash_key: string;
}

const KEY_FILE = 'keys.json';

export function loadKeys(config: Pick<Config, 'dataDir' | 'tokenKey' | 'hashKey'>): ServerKeys {
  const file = path.join(config.dataDir, KEY_FILE);
  const stored = config.tokenKey !== undefined && config.hashKey !== undefined ? undefined : readOrCreate(file);
  const tokenKey = config.tokenKey ?? stored?.token_key;
  const hashKey = config.hashKey ?? stored?.hash_key;
  if (tokenKey === undefined || hashKey === undefined) throw new Error(`${file}: missing token_key or hash_key`);
  return { tokenKey: Buffer.from(tokenKey, 'base64url'), hashKey: Buffer.from(hashKey, 'base64url') };
}

/**
 * Whether loading the keys would use a hash key already chosen (set, or in the data directory's
 * key file) rather than generate a new one, under which stored login cards, PINs and voucher codes match
 * nothing and webhook secrets cannot be unsealed.
 */
export function hashKeyIsKnown(config: Pick<Config, 'dataDir' | 'hashKey'>): boolean {
  return config.hashKey !== undefined || fs.existsSync(path.join(config.dataDir, KEY_FILE));
}

function readOrCreate(file: string): KeyFile {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const fresh: KeyFile = {
    token_key: crypto.randomBytes(32).toString('base64url'),
    hash_key: crypto.randomBytes(32).toString('base64url'),
  };
  try {
    // 'wx' fails if another process created it first; then that process's keys win.
    fs.writeFileSync(file, JSON.stringify(fresh, null, 2) + '\n', { flag: 'wx', mode: 0o600 });
    return fresh;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<KeyFile>;
  if (typeof parsed.token_key !== 'string' || typeof parsed.hash_key !== 'string') {
    throw new Error(`${file}: expected {"token_key","hash_key"}`);
  }
  return { token_key: parsed.token_key, hash_key: parsed.hash_key };
}
