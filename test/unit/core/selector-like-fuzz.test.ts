import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { compileLikePattern, type LikeStats } from '../../../src/core/selector/like.ts';
import { fuzzCases, fuzzSeed, Rng } from '../../helpers/fuzz.ts';

/**
 * The LIKE matcher (segments, KMP, Shift-And) against the obvious reference: the pattern turned
 * into an anchored regular expression over code points. Random patterns and values from small
 * alphabets, so matches, near-misses, escapes, surrogate pairs and lone surrogates all occur; some
 * patterns are long enough for the multi-word Shift-And (stretches with `_` over 32 characters) and
 * KMP (literal stretches over 32 units).
 */

/** LIKE as a regex: `_` is one code point, `%` any run, everything else itself. Slow, obviously right. */
function referenceLike(pattern: string, value: string, escape?: string): boolean {
  let re = '^';
  const chars = Array.from(pattern);
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i] as string;
    if (c === escape) re += quote(chars[++i] as string);
    else if (c === '%') re += '[^]*';
    else if (c === '_') re += '[^]';
    else re += quote(c);
  }
  return new RegExp(`${re}$`, 'u').test(value);
}

function quote(c: string): string {
  const cp = c.codePointAt(0) as number;
  // \u{...} is exact for every code point, lone surrogates included.
  return `\\u{${cp.toString(16)}}`;
}

const PATTERN_ALPHABET = ['a', 'a', 'b', '%', '_', '_', '!', '😀', '\ud83d', '\ude00', 'x'];
const VALUE_ALPHABET = ['a', 'a', 'a', 'b', '!', '%', '_', '😀', '\ud83d', '\ude00'];

function randomText(rng: Rng, alphabet: readonly string[], max: number): string {
  const n = rng.int(max + 1);
  let s = '';
  for (let i = 0; i < n; i++) s += rng.pick(alphabet);
  return s;
}

/** A value built from pieces of the pattern, so long patterns match or nearly match now and then. */
function valueLike(rng: Rng, pattern: string): string {
  let s = '';
  for (const c of Array.from(pattern)) {
    if (c === '%') s += randomText(rng, VALUE_ALPHABET, 4);
    else if (c === '_') s += rng.pick(VALUE_ALPHABET);
    else s += rng.next() < 0.95 ? c : rng.pick(VALUE_ALPHABET);
  }
  return rng.next() < 0.5 ? s : s + randomText(rng, VALUE_ALPHABET, 3);
}

function danglingEscape(pattern: string, escape: string | undefined): boolean {
  if (escape === undefined) return false;
  const chars = Array.from(pattern);
  for (let i = 0; i < chars.length; i++) if (chars[i] === escape && ++i >= chars.length) return true;
  return false;
}

describe('LIKE matcher against a regex reference (seeded)', () => {
  test('random short patterns and values', () => {
    const seed = fuzzSeed(0x11ce);
    const rng = new Rng(seed);
    const cases = fuzzCases(3000);
    let matched = 0;
    for (let i = 0; i < cases; i++) {
      const pattern = randomText(rng, PATTERN_ALPHABET, 10);
      const escape = rng.next() < 0.3 ? '!' : undefined;
      if (danglingEscape(pattern, escape)) continue;
      const value = rng.next() < 0.5 ? randomText(rng, VALUE_ALPHABET, 14) : valueLike(rng, pattern);
      const expected = referenceLike(pattern, value, escape);
      if (expected) matched++;
      assert.equal(compileLikePattern(pattern, escape).test(value), expected, `seed ${seed} case ${i}: ${JSON.stringify(pattern)} ESCAPE ${String(escape)} on ${JSON.stringify(value)}`);
    }
    assert.ok(matched > cases / 10 && matched < (cases * 9) / 10, `${matched} of ${cases} matched: the cases test both outcomes`);
  });

  test('long stretches: multi-word Shift-And and KMP', () => {
    const seed = fuzzSeed(0x5e9);
    const rng = new Rng(seed);
    const cases = Math.ceil(fuzzCases(3000) / 3);
    let matched = 0;
    for (let i = 0; i < cases; i++) {
      // Mostly a's with a few b's and _'s: long partial matches, the hard case for both searches.
      const parts: string[] = [];
      const stretches = 1 + rng.int(3);
      for (let s = 0; s < stretches; s++) {
        const len = 20 + rng.int(60);
        let run = '';
        const withAnyOne = rng.next() < 0.6;
        for (let k = 0; k < len; k++) run += withAnyOne && rng.next() < 0.1 ? '_' : rng.next() < 0.9 ? 'a' : rng.pick(['b', '😀']);
        parts.push(run);
      }
      const pattern = (rng.next() < 0.7 ? '%' : '') + parts.join('%') + (rng.next() < 0.7 ? '%' : '');
      const value = rng.next() < 0.3 ? 'a'.repeat(rng.int(300)) : valueLike(rng, pattern);
      const expected = referenceLike(pattern, value);
      if (expected) matched++;
      assert.equal(compileLikePattern(pattern).test(value), expected, `seed ${seed} case ${i}: ${pattern} on ${value}`);
    }
    assert.ok(matched > cases / 20 && matched < (cases * 19) / 20, `${matched} of ${cases} matched: the cases test both outcomes`);
  });
});

describe('LIKE worst cases are bounded (counted steps, not time)', () => {
  const steps = (pattern: string, value: string, maxSegment?: number): { result: boolean; steps: number } => {
    const stats: LikeStats = { steps: 0 };
    const result = compileLikePattern(pattern, undefined, maxSegment).test(value, stats);
    return { result, steps: stats.steps };
  };

  test("issue 11's pattern, %a…a_b% of 4,000 characters, on 9,000 a's: n·⌈m/32⌉, not n·m", () => {
    const pattern = `%${'a'.repeat(3997)}_b%`;
    const value = 'a'.repeat(9000);
    const r = steps(pattern, value, 4000);
    assert.equal(r.result, false);
    const words = Math.ceil(3999 / 32);
    // Two passes over the active words per character (shift, mask): 4 word operations at most.
    assert.ok(r.steps <= 4 * words * value.length + pattern.length, `${r.steps} steps`);
    assert.ok(r.steps < (value.length + 1) * (pattern.length + 1) / 8, `${r.steps} steps: no better than the old bound`);
  });

  test('a long literal stretch (2,000 a, b, 1,999 a) on 100,000 a: linear (KMP), where indexOf is quadratic', () => {
    const pattern = `%${'a'.repeat(2000)}b${'a'.repeat(1999)}%`;
    const value = 'a'.repeat(100_000);
    const r = steps(pattern, value);
    assert.equal(r.result, false);
    assert.ok(r.steps <= 2 * value.length, `${r.steps} steps`);
  });

  test('many % (%a%a%a…%b) on 10,000 a: linear', () => {
    const value = 'a'.repeat(10_000);
    const r = steps(`${'%a'.repeat(100)}%b`, value);
    assert.equal(r.result, false);
    assert.ok(r.steps <= 3 * value.length, `${r.steps} steps`);
  });

  test('a stretch with _ longer than the limit is refused at compile time', () => {
    assert.throws(() => compileLikePattern(`%${'a'.repeat(300)}_%`), { name: 'LikePatternError', kind: 'tooComplex' });
    assert.throws(() => compileLikePattern(`%${'a'.repeat(30)}_%`, undefined, 16), { kind: 'tooComplex' });
    // A long literal stretch (no _) is fine, however long: it is searched in linear time.
    assert.equal(compileLikePattern(`%${'a'.repeat(3000)}%`).test('a'.repeat(3000)), true);
    // 256 with _ is within the default.
    assert.equal(compileLikePattern(`${'a'.repeat(255)}_`).test(`${'a'.repeat(255)}z`), true);
  });
});
