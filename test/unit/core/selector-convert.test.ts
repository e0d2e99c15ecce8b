import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { booleanFromString, doubleFromString, integerFromString } from '../../../src/core/selector/convert.ts';

// The Java conversions ActiveMQ applies to a string compared with a number or boolean (issue 12
// item 1); the selector tables check them end to end, these check the edges of each parser.

describe('integerFromString: Integer.valueOf against an int, Long.valueOf against a long', () => {
  const cases: ReadonlyArray<readonly [string, number, number | undefined]> = [
    ['5', 5, 5],
    ['+5', 5, 5],
    ['-5', 5, -5],
    ['05', 5, 5],
    ['2147483647', 5, 2_147_483_647],
    ['-2147483648', 5, -2_147_483_648],
    ['2147483648', 5, undefined], // beyond an Integer
    ['2147483648', 3_000_000_000, 2_147_483_648], // a Long takes it
    ['9223372036854775807', 3_000_000_000, 9_223_372_036_854_775_807],
    ['9223372036854775808', 3_000_000_000, undefined], // beyond a Long
    ['-9223372036854775808', 3_000_000_000, -9_223_372_036_854_775_808],
    ['00000000000000000000000001', 3_000_000_000, 1],
    ['', 5, undefined],
    ['+', 5, undefined],
    ['+-5', 5, undefined],
    [' 5', 5, undefined],
    ['5 ', 5, undefined],
    ['3.5', 5, undefined],
    ['5.0', 5, undefined],
    ['1e1', 5, undefined],
    ['0x5', 5, undefined],
    ['5L', 5, undefined],
    ['\u0665', 5, 5], // ARABIC-INDIC DIGIT FIVE: Java's Character.digit reads it
    ['-\u0661\u0662', 5, -12],
    ['\uff17', 5, 7], // FULLWIDTH DIGIT SEVEN
    ['1\u0968', 5, 12], // ASCII and Devanagari mixed
    ['\u{1D7D3}', 5, undefined], // MATHEMATICAL BOLD DIGIT FIVE: outside the BMP, two UTF-16 units
    ['\u00b2', 5, undefined], // SUPERSCRIPT TWO is No, not Nd
  ];
  for (const [s, n, expected] of cases) {
    test(`${JSON.stringify(s)} against ${n} is ${String(expected)}`, () => assert.equal(integerFromString(s, n), expected));
  }
});

describe("doubleFromString: Java's Double.valueOf", () => {
  const cases: ReadonlyArray<readonly [string, number | undefined]> = [
    ['3.4', 3.4],
    ['+3.4', 3.4],
    ['-3.4', -3.4],
    ['3', 3],
    ['3.', 3],
    ['.5', 0.5],
    ['1.5E1', 15],
    ['1.5e-1', 0.15],
    ['3.4d', 3.4],
    ['3.4F', 3.4],
    [' 3.4', 3.4],
    ['3.4\t', 3.4],
    ['\u00003.4\u0001', 3.4],
    ['0x1p3', 8],
    ['0X1.8P1', 3],
    ['-0x.8p0', -0.5],
    ['0x1p3d', 8],
    ['NaN', Number.NaN],
    ['-Infinity', Number.NEGATIVE_INFINITY],
    ['+Infinity', Number.POSITIVE_INFINITY],
    ['', undefined],
    ['   ', undefined],
    ['abc', undefined],
    ['nan', undefined],
    ['NaNd', undefined],
    ['1e', undefined],
    ['.', undefined],
    ['0x1', undefined], // a hex float needs its binary exponent
    ['3.4\u00a0', undefined], // Java's trim stops at U+0020
    ['1_000', undefined],
  ];
  for (const [s, expected] of cases) {
    test(`${JSON.stringify(s)} is ${String(expected)}`, () => assert.equal(doubleFromString(s), expected));
  }
});

describe("booleanFromString: Java's Boolean.valueOf", () => {
  for (const s of ['true', 'TRUE', 'True', 'tRuE']) test(`${s} is true`, () => assert.equal(booleanFromString(s), true));
  for (const s of ['false', 'FALSE', '', 'yes', '1', ' true', 'true ', 'truee']) {
    test(`${JSON.stringify(s)} is false`, () => assert.equal(booleanFromString(s), false));
  }
});

// A string property may be megabytes (an AMQP application property, up to amqp.maxMessageSize), and
// every selector that compares it with a number converts it once per message. Each conversion must
// read it in linear time: the regular expressions once split a run of digits between two quantifiers
// ('[0-9]+\.?[0-9]*'), and the trim searched a run of spaces from every position, so one 300,000-
// character value took minutes of the event loop. Each case below runs in milliseconds; the test
// timeout (two orders of magnitude above) fails the quadratic versions.
describe('conversions of huge strings read them in linear time', () => {
  const N = 300_000;
  const HUGE = { timeout: 20_000 };
  test('a run of digits that is no double (the decimal part)', HUGE, () => {
    assert.equal(doubleFromString(`${'7'.repeat(N)}x`), undefined);
    assert.equal(doubleFromString(`.${'7'.repeat(N)}x`), undefined);
    assert.equal(doubleFromString(`1e${'7'.repeat(N)}x`), undefined);
    assert.equal(doubleFromString('7'.repeat(N)), Number.POSITIVE_INFINITY);
  });
  test('a run of hex digits that is no hexadecimal float', HUGE, () => {
    assert.equal(doubleFromString(`0x${'f'.repeat(N)}x`), undefined);
    assert.equal(doubleFromString(`0x${'f'.repeat(N)}.`), undefined);
  });
  test("Java's trim of a string with a long inner run of spaces", HUGE, () => {
    assert.equal(doubleFromString(`a${' '.repeat(N)}b `), undefined);
    assert.equal(doubleFromString(` 5${' '.repeat(N)}b`), undefined);
    assert.equal(doubleFromString(`${' '.repeat(N)}5${' '.repeat(N)}`), 5);
  });
  test('an integer string of any length against an int and a long (ASCII and other digits)', HUGE, () => {
    for (const n of [5, 3_000_000_000]) {
      assert.equal(integerFromString('7'.repeat(4_000_000), n), undefined);
      assert.equal(integerFromString(`-${'\u0667'.repeat(N)}`, n), undefined);
      assert.equal(integerFromString(`${'0'.repeat(N)}5`, n), 5);
      assert.equal(integerFromString(`${'\u0660'.repeat(N)}\u0665`, n), 5);
    }
    assert.equal(integerFromString(`-${'0'.repeat(N)}9223372036854775808`, 3_000_000_000), -9_223_372_036_854_775_808);
    assert.equal(integerFromString(`${'0'.repeat(N)}9223372036854775808`, 3_000_000_000), undefined);
  });
});
