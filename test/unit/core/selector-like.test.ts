import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { compileLikePattern, LikePatternError, type LikeStats } from '../../../src/core/selector/like.ts';

/** Reference LIKE: textbook dynamic programming over code points. Slow, obviously correct. */
function referenceLike(pattern: string, value: string, escape?: string): boolean {
  const tokens: Array<{ kind: 'char'; cp: string } | { kind: 'one' } | { kind: 'any' }> = [];
  const p = Array.from(pattern);
  for (let i = 0; i < p.length; i++) {
    const c = p[i] as string;
    if (c === escape) tokens.push({ kind: 'char', cp: p[++i] as string });
    else if (c === '%') tokens.push({ kind: 'any' });
    else if (c === '_') tokens.push({ kind: 'one' });
    else tokens.push({ kind: 'char', cp: c });
  }
  const v = Array.from(value);
  // dp[j] = tokens[0..i) match v[0..j)
  let dp = new Array<boolean>(v.length + 1).fill(false);
  dp[0] = true;
  for (const t of tokens) {
    const next = new Array<boolean>(v.length + 1).fill(false);
    for (let j = 0; j <= v.length; j++) {
      if (t.kind === 'any') next[j] = dp[j] === true || (j > 0 && next[j - 1] === true);
      else if (j > 0 && dp[j - 1] === true) next[j] = t.kind === 'one' || v[j - 1] === t.cp;
    }
    dp = next;
  }
  return dp[v.length] === true;
}

/** Deterministic PRNG (mulberry32) so failures reproduce. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomString(next: () => number, alphabet: readonly string[], maxLength: number): string {
  const length = Math.floor(next() * (maxLength + 1));
  let s = '';
  for (let i = 0; i < length; i++) s += alphabet[Math.floor(next() * alphabet.length)] as string;
  return s;
}

describe('compileLikePattern', () => {
  test('a pattern without wildcards is an exact, case-sensitive match', () => {
    const p = compileLikePattern('abc');
    assert.equal(p.test('abc'), true);
    assert.equal(p.test('abcd'), false);
    assert.equal(p.test('ABC'), false);
  });

  test('_ matches exactly one character', () => {
    const p = compileLikePattern('a_c');
    assert.equal(p.test('abc'), true);
    assert.equal(p.test('ac'), false);
    assert.equal(p.test('abbc'), false);
  });

  test('% matches any sequence, including the empty one', () => {
    const p = compileLikePattern('a%c');
    assert.equal(p.test('ac'), true);
    assert.equal(p.test('abbbc'), true);
    assert.equal(p.test('abbb'), false);
  });

  test('_ and % match line breaks', () => {
    assert.equal(compileLikePattern('a_b%').test('a\nb\r\n'), true);
  });

  test('_ matches one code point, not one UTF-16 unit', () => {
    assert.equal(compileLikePattern('_').test('😀'), true);
    assert.equal(compileLikePattern('__').test('😀'), false);
    assert.equal(compileLikePattern('%😀_').test('xx😀😀'), true);
  });

  test('the escape character makes % and _ literal', () => {
    const p = compileLikePattern('100!%_', '!');
    assert.equal(p.test('100%x'), true);
    assert.equal(p.test('100x'), false);
    assert.equal(p.test('1000x'), false);
  });

  test('the escape character escapes itself', () => {
    assert.equal(compileLikePattern('a!!b', '!').test('a!b'), true);
  });

  test('without ESCAPE a backslash is an ordinary character', () => {
    assert.equal(compileLikePattern('a\\%').test('a\\xyz'), true);
  });

  test('a pattern ending with the escape character is rejected', () => {
    assert.throws(() => compileLikePattern('abc!', '!'), LikePatternError);
  });

  test('prefix, suffix and contains shapes agree with the general matcher', () => {
    assert.equal(compileLikePattern('ab%').test('abc'), true);
    assert.equal(compileLikePattern('%bc').test('abc'), true);
    assert.equal(compileLikePattern('%b%').test('abc'), true);
    assert.equal(compileLikePattern('%x%').test('abc'), false);
    assert.equal(compileLikePattern('%%').test(''), true);
  });

  test('agrees with a reference implementation on 5000 random cases', () => {
    const next = prng(42);
    for (let i = 0; i < 5000; i++) {
      const pattern = randomString(next, ['a', 'b', '%', '_', '!'], 8);
      const value = randomString(next, ['a', 'b', '!', '%'], 10);
      const escape = next() < 0.5 ? '!' : undefined;
      if (escape !== undefined && /(^|[^!])(!!)*!$/.test(pattern)) continue; // dangling escape
      const expected = referenceLike(pattern, value, escape);
      assert.equal(compileLikePattern(pattern, escape).test(value), expected, `${pattern} ESCAPE ${String(escape)} on ${value}`);
    }
  });
});

describe('LIKE linear-time bound (counted steps, not time)', () => {
  const steps = (pattern: string, value: string): { result: boolean; steps: number } => {
    const stats: LikeStats = { steps: 0 };
    const result = compileLikePattern(pattern).test(value, stats);
    return { result, steps: stats.steps };
  };

  test("'%a%a%a%a%a%a%a%a%b' on 10000 'a's takes O(n) steps, not exponentially many", () => {
    const value = 'a'.repeat(10_000);
    const r = steps('%a%a%a%a%a%a%a%a%b', value);
    assert.equal(r.result, false);
    assert.ok(r.steps <= 3 * value.length, `${r.steps} steps`);
  });

  test('worst case stays within (n + 1) x (m + 1) steps', () => {
    const value = 'a'.repeat(5_000);
    const pattern = `%${'a'.repeat(40)}b%`;
    const r = steps(pattern, value);
    assert.equal(r.result, false);
    assert.ok(r.steps <= (value.length + 1) * (pattern.length + 1), `${r.steps} steps`);
  });

  test('the bound holds on random inputs', () => {
    const next = prng(7);
    for (let i = 0; i < 2000; i++) {
      const pattern = randomString(next, ['a', 'b', '%', '_'], 12);
      const value = randomString(next, ['a', 'b'], 40);
      const r = steps(pattern, value);
      assert.ok(r.steps <= (value.length + 1) * (pattern.length + 1), `${pattern} on ${value}: ${r.steps} steps`);
    }
  });
});
