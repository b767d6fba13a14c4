// Amount conversion: exact, in integer minor units, refusing what is not a plain decimal.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import fc from 'fast-check';

import { AppError } from '../src/errors.js';
import { formatMinor, fromMinor, MAX_AMOUNT_MINOR, toMinor } from '../src/money.js';

describe('money', () => {
  test('numbers and decimal strings convert exactly', () => {
    assert.equal(toMinor(13, 'EUR', 'a'), 1300);
    assert.equal(toMinor(50.0, 'EUR', 'a'), 5000);
    assert.equal(toMinor('13.5', 'EUR', 'a'), 1350);
    assert.equal(toMinor(0.1, 'EUR', 'a') + toMinor(0.2, 'EUR', 'a'), toMinor(0.3, 'EUR', 'a'));
    assert.equal(toMinor('-2.05', 'EUR', 'a'), -205);
    assert.equal(toMinor('1.10', 'EUR', 'a'), 110, 'trailing zeros are not extra decimals');
    assert.equal(toMinor(7, 'JPY', 'a'), 7);
    assert.equal(toMinor('1.234', 'KWD', 'a'), 1234);
  });

  test('anything else is a 400 naming the field', () => {
    for (const bad of [NaN, Infinity, -Infinity, 1e21, 1e-7, '1e2', '0x10', '', ' ', '1.', '.5', '01', '1,5', 'ten', null, undefined, true, {}, [], 1.001, '1.001']) {
      assert.throws(() => toMinor(bad, 'EUR', 'params.amount'), (error: unknown) => error instanceof AppError && error.kind === 'invalid' && error.data[0]?.field === 'params.amount', JSON.stringify(bad) ?? 'undefined');
    }
    assert.throws(() => toMinor(MAX_AMOUNT_MINOR / 100 + 1, 'EUR', 'a'), AppError);
    assert.throws(() => toMinor('1.5', 'JPY', 'a'), AppError);
  });

  test('property: minor → major → minor is the identity, and text formatting agrees', () => {
    fc.assert(
      fc.property(fc.integer({ min: -MAX_AMOUNT_MINOR, max: MAX_AMOUNT_MINOR }), (minor) => {
        assert.equal(toMinor(fromMinor(minor, 'EUR'), 'EUR', 'a'), minor);
        assert.equal(toMinor(formatMinor(minor, 2), 'EUR', 'a'), minor);
      }),
      { numRuns: 2000 },
    );
  });
});
