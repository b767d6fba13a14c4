// Amount conversion: exact, in integer minor units, refusing what is not a plain decimal.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import fc from 'fast-check';

import { AppError } from '../src/errors.js';
import { ConfigError, loadConfig } from '../src/config.js';
import { formatMinor, fromMinor, MAX_AMOUNT_MINOR, MAX_TOTAL_MINOR, positiveMinor, toMinor, withinCeiling } from '../src/money.js';

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

  test('a ceiling refuses more either way with a 400 naming it, and never lets past what Purse accepts at all', () => {
    assert.equal(toMinor('100', 'EUR', 'a', 100_00), 100_00);
    assert.equal(toMinor('-100', 'EUR', 'a', 100_00), -100_00);
    for (const bad of ['100.01', '-100.01']) {
      assert.throws(() => toMinor(bad, 'EUR', 'params.amount', 100_00), (error: unknown) => error instanceof AppError && error.kind === 'invalid' && error.data[0]?.field === 'params.amount' && error.message.includes('100.00 EUR'));
    }
    assert.throws(() => positiveMinor('1001', 'JPY', 'a', 1000), /1000 JPY/);
    assert.throws(() => toMinor(MAX_AMOUNT_MINOR / 100 + 1, 'EUR', 'a'), /1000000000.00 EUR/, 'without a ceiling, what Purse accepts at all');
    assert.equal(toMinor(MAX_TOTAL_MINOR / 100, 'EUR', 'total', MAX_TOTAL_MINOR), MAX_TOTAL_MINOR, 'a total is read back under its own ceiling');
    assert.throws(() => withinCeiling(101, 100, 'EUR', 'a'), AppError);
    assert.ok(MAX_TOTAL_MINOR * 9 < Number.MAX_SAFE_INTEGER, 'a sum of a few totals is still exact');
  });

  test('PURSE_MAX_AMOUNT and PURSE_MAX_BALANCE: defaults, major units of the currency, one amount never above a balance', () => {
    const defaults = loadConfig({});
    assert.equal(defaults.maxAmountMinor, 1_000_000_00);
    assert.equal(defaults.maxBalanceMinor, 10_000_000_00);
    assert.equal(defaults.bulkMaxRows, 10_000);
    assert.equal(loadConfig({ currency: 'JPY', maxAmount: '500', maxBalance: '500' }).maxBalanceMinor, 500);
    assert.throws(() => loadConfig({ maxAmount: '20', maxBalance: '10' }), (error: unknown) => error instanceof ConfigError && error.message.startsWith('PURSE_MAX_AMOUNT'));
    assert.throws(() => loadConfig({ maxBalance: '1000000000000' }), (error: unknown) => error instanceof ConfigError && error.message.startsWith('PURSE_MAX_BALANCE'));
    assert.throws(() => loadConfig({ bulkMaxRows: '100001' }), /PURSE_BULK_MAX_ROWS/);
  });
});
