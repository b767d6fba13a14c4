// msToIso writes exactly what Date#toISOString writes: it replaced it on the hot read paths.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import fc from 'fast-check';

import { msToIso } from '../src/time.js';

describe('msToIso', () => {
  test('the same text as toISOString at the edges of days, years and its fast range', () => {
    const edges = [0, 1, 999, 1000, 59_999, 3_599_999, 86_399_999, 86_400_000, 951_782_400_000, 1_709_164_799_999, 1_709_251_200_000, Date.UTC(2026, 11, 31, 23, 59, 59, 999), 253_402_300_799_999, 253_402_300_800_000, -1, -86_400_001, 8.64e15, -8.64e15, 1.5];
    for (const ms of edges) assert.equal(msToIso(ms), new Date(ms).toISOString(), String(ms));
  });

  test('the same text as toISOString for any moment, asked in any order', () => {
    fc.assert(
      fc.property(fc.integer({ min: -8.64e15, max: 8.64e15 }), (ms) => msToIso(ms) === new Date(ms).toISOString()),
      { numRuns: 20_000 },
    );
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 4_102_444_800_000 }), (ms) => msToIso(ms) === new Date(ms).toISOString()),
      { numRuns: 20_000 },
    );
  });

  test('what Date refuses, it refuses the same way', () => {
    assert.throws(() => msToIso(Number.NaN), RangeError);
    assert.throws(() => msToIso(8.64e15 + 1), RangeError);
  });
});
