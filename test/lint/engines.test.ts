// The Node version Purse promises is one fact in three places: package.json's `engines`, the
// README, and every locked dependency's own `engines` — none may want a newer Node than promised.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';

import semver from 'semver';

interface Manifest {
  engines?: { node?: string };
}

interface Lockfile {
  packages: Record<string, Manifest & { version?: string }>;
}

const readJson = (file: string): unknown => JSON.parse(fs.readFileSync(file, 'utf8'));

const promised = (readJson('package.json') as Manifest).engines?.node ?? '';
const oldest = semver.minVersion(promised);

test('package.json promises a Node version', () => {
  assert.ok(oldest !== null, `engines.node "${promised}" names no version`);
});

test('the README names the same oldest Node version', () => {
  assert.ok(oldest !== null);
  const short = `${oldest.major}.${oldest.minor}`;
  assert.match(fs.readFileSync('README.md', 'utf8'), new RegExp(`Node\\.js ≥ ${short.replace('.', '\\.')}\\b`));
});

test('every locked dependency runs on the oldest Node version promised', () => {
  assert.ok(oldest !== null);
  const wanting = Object.entries((readJson('package-lock.json') as Lockfile).packages)
    .filter(([name, info]) => name !== '' && info.engines?.node !== undefined && !semver.satisfies(oldest, info.engines.node))
    .map(([name, info]) => `${name}@${info.version ?? '?'} wants node ${info.engines?.node ?? ''}`);
  assert.deepEqual(wanting, [], `these want a newer Node than ${oldest.version}`);
});
