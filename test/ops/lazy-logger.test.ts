// A request's logger is made only when it writes a line at a level that is on, and then carries
// every binding it was given, its parents' too; the redaction still applies.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, test } from 'node:test';

import type { FastifyBaseLogger } from 'fastify';
import pino from 'pino';

import { lazyChild } from '../../src/ops/lazy-logger.js';

function capture(level: string): { root: FastifyBaseLogger; lines: Record<string, unknown>[]; children: () => number } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString('utf8')) as Record<string, unknown>);
      done();
    },
  });
  const root = pino({ level, redact: { paths: ['*.password'], censor: '[redacted]' } }, stream);
  let made = 0;
  const child = root.child.bind(root);
  const counted = Object.assign(Object.create(root) as FastifyBaseLogger, {
    child: (...args: Parameters<typeof child>) => {
      made++;
      return child(...args);
    },
  });
  return { root: counted, lines, children: () => made };
}

describe('lazy request logger', () => {
  test('below the level nothing is made or written; at the level the child carries every binding', () => {
    const { root, lines, children } = capture('warn');
    const request = lazyChild(root, { reqId: 'req-1' }, {});
    const asked = request.child({ clientId: 'c1', userId: 7 });
    asked.info('request completed');
    request.debug({ x: 1 }, 'detail');
    assert.equal(children(), 0, 'no child made for lines below the level');
    assert.equal(lines.length, 0);
    asked.warn({ body: { password: 'hunter2' } }, 'something odd');
    assert.equal(children(), 1, 'the request child, made once, then its own child');
    assert.equal(lines.length, 1);
    assert.equal(lines[0]?.reqId, 'req-1');
    assert.equal(lines[0]?.clientId, 'c1');
    assert.equal(lines[0]?.userId, 7);
    assert.deepEqual(lines[0]?.body, { password: '[redacted]' });
    request.error('failed');
    assert.equal(children(), 1, 'made once');
    assert.deepEqual([lines[1]?.reqId, lines[1]?.clientId], ['req-1', undefined]);
  });

  test('the level is inherited until set, and a lower level set on the child turns its lines on', () => {
    const { root, lines } = capture('warn');
    const request = lazyChild(root, { reqId: 'req-2' }, {});
    assert.equal(request.level, 'warn');
    request.level = 'debug';
    request.debug('now on');
    assert.equal(lines.length, 1);
    assert.equal(lines[0]?.reqId, 'req-2');
    assert.equal(root.level, 'warn', 'the parent keeps its level');
  });
});
