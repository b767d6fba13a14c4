// The two server keys: one signs access tokens, one keys the HMACs of login cards, PINs and
// refresh tokens. Taken from configuration, or generated once into the data directory (mode 0600).
// Several Purse processes on one PostgreSQL database must share both: set them in the environment.
// The database keeps a fingerprint of each, and a process whose keys differ refuses to start.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

import type { Config } from '../config.js';
import type { Db } from '../db/index.js';
import { AppError } from '../errors.js';

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

interface FingerprintRow {
  name: string;
  fingerprint: string;
  recorded_at_ms: number;
}

/** What each key is called in `key_fingerprints` and in the refusal. */
const FINGERPRINTED: readonly { which: keyof ServerKeys; name: string; words: string }[] = [
  { which: 'tokenKey', name: 'token_key', words: 'access-token signing key (PURSE_TOKEN_KEY)' },
  { which: 'hashKey', name: 'hash_key', words: 'keyed-hash key (PURSE_HASH_KEY)' },
];

/**
 * An HMAC of a fixed text under the key: equal keys give equal fingerprints, and the fingerprint
 * tells nothing about a key of 256 random bits.
 */
export function keyFingerprint(key: Uint8Array): string {
  return crypto.createHmac('sha256', key).update('purse key fingerprint v1').digest('base64url');
}

/**
 * Records the keys' fingerprints on the first start and, on every later one, refuses keys that
 * differ: a process with another token key would refuse every other process's tokens, one with
 * another hash key would find no login card, PIN or refresh token, and would write ones nobody
 * else finds.
 */
export async function checkKeyFingerprints(db: Db, keys: ServerKeys, dataDir: string, nowMs: number): Promise<void> {
  const mine = { tokenKey: keyFingerprint(keys.tokenKey), hashKey: keyFingerprint(keys.hashKey) };
  const known = await db.read((q) => q.all<FingerprintRow>('SELECT name, fingerprint, recorded_at_ms FROM key_fingerprints'));
  // Written once, by the first start; every later start (and command) only reads.
  const recorded = known.length === FINGERPRINTED.length ? known : await db.write(async (tx) => {
    for (const { which, name } of FINGERPRINTED) {
      await tx.run('INSERT INTO key_fingerprints (name, fingerprint, recorded_at_ms) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING', [name, mine[which], nowMs]);
    }
    return tx.all<FingerprintRow>('SELECT name, fingerprint, recorded_at_ms FROM key_fingerprints');
  });
  for (const { which, name, words } of FINGERPRINTED) {
    const row = recorded.find((r) => r.name === name);
    if (row === undefined || row.fingerprint === mine[which]) continue;
    throw new AppError(
      'conflict',
      `the ${words} differs from the one this database was first started with on ${new Date(row.recorded_at_ms).toISOString()}: every Purse process on one database needs the same keys — set PURSE_TOKEN_KEY and PURSE_HASH_KEY to that process's values, or copy its ${KEY_FILE} into ${dataDir}`,
    );
  }
}
