import { findLiteral, type LiteralSearch, literalSearch } from './like-literal.ts';
import { wildcardSegment } from './like-segment.ts';

/** Counts the work a LIKE match does; tests use it to prove the matcher's bound, not a clock. */
export interface LikeStats {
  steps: number;
}

/** A LIKE pattern compiled once at selector compile time. */
export interface LikePattern {
  /** The pattern text as written (after string-literal unquoting). */
  readonly source: string;
  /**
   * Total length of the pattern's stretches between two `%` that hold a `_` (code points): what the
   * selector's `maxLikeSegment` budget is charged for this pattern.
   */
  readonly wildcardLength: number;
  /** True when the whole of `value` matches the pattern. */
  test(value: string, stats?: LikeStats): boolean;
}

/**
 * Thrown for a pattern that ends in the escape character (`syntax`) or holds a stretch with `_`
 * longer than the limit (`tooComplex`); the parser adds the position.
 */
export class LikePatternError extends Error {
  readonly kind: 'syntax' | 'tooComplex';
  /** For `tooComplex`: the pattern's total length of stretches with `_` (see {@link LikePattern.wildcardLength}). */
  readonly wildcardLength: number;
  constructor(message: string, kind: 'syntax' | 'tooComplex' = 'syntax', wildcardLength = 0) {
    super(message);
    this.name = 'LikePatternError';
    this.kind = kind;
    this.wildcardLength = wildcardLength;
  }
}

/**
 * Default total length, over all LIKE patterns of one selector, of the stretches between two `%`
 * that hold a `_`, in characters. Such a stretch of s characters costs ⌈s/32⌉ word operations per
 * character of the value (Shift-And); measured on Node 20 against 1,000,000 `a`s: 6 ms up to 32,
 * 27 ms at 128, 42 ms at 256, 137 ms at 1,024, 979 ms at 4,000 (the pattern). 256 covers any
 * realistic shape (a UUID is 36). It is a budget per selector, not per pattern: fifteen OR'd LIKEs
 * of 256 each cost fifteen times one (issue 11). Literal stretches have no such limit (linear search).
 */
export const DEFAULT_MAX_LIKE_SEGMENT = 256;

// Compiled pattern tokens: a literal is its code point (>= 0); the wildcards are negative.
const ANY_ONE = -1; // '_'
const ANY_SEQUENCE = -2; // '%'

/**
 * One run of the pattern between two `%`: literal characters and `_`, matching exactly its number
 * of code points. `at` matches it anchored at a position; `find` finds its leftmost occurrence.
 */
interface Segment {
  /** Length in code points. */
  readonly length: number;
  /** End (code units) of a match starting at `pos`, or -1. */
  at(value: string, pos: number, stats: LikeStats | undefined): number;
  /** End of the leftmost match starting at `from` or later and ending by `limit`, or -1. */
  find(value: string, from: number, limit: number, stats: LikeStats | undefined): number;
}

/**
 * Compiles a JMS LIKE pattern: `_` matches exactly one character, `%` any sequence (also empty),
 * and `escape` (one character) makes the following character literal. Matching is case-sensitive
 * and works on Unicode code points, so `_` matches one emoji.
 *
 * No regular expression is involved: a backtracking regex on `%a%a%a...` can take exponential
 * time (a RabbitMQ selector CVE came from exactly that), and the two-pointer wildcard algorithm
 * this replaced took (n + 1)(m + 1) steps: 36 million for a 4,000-character `%a…a_b%` against
 * 9,000 `a`s (issue 11). Instead the pattern is split on `%` into segments, and:
 *
 * - the first segment must match at the start and the last at the end (unless the pattern starts
 *   or ends with `%`);
 * - each segment in between is matched at its leftmost occurrence after the previous one. With a
 *   `%` on both sides, the leftmost occurrence is always a safe choice: any match that uses a later
 *   one can use the leftmost instead, leaving more room for the rest.
 *
 * A literal segment is found with `indexOf` (short) or Knuth-Morris-Pratt (long: V8's `indexOf`
 * degrades to O(n·m) on patterns such as 2,000 `a`s, `b`, 1,999 `a`s); a segment with `_` by
 * bit-parallel Shift-And over code points. One test of a value of n code units thus costs
 * O(n · ⌈s/32⌉ + m) word operations, s being the longest segment with `_` (or 1), m the pattern
 * length, instead of O(n · m).
 *
 * @param maxSegment Most characters the pattern's stretches between two `%` that hold `_` may
 *   total (the parser passes what is left of the selector's budget).
 * @throws LikePatternError if the pattern ends with the escape character, or its stretches with
 *   `_` total more than `maxSegment`.
 * @example
 * compileLikePattern('10\\%%', '\\').test('10% off') // true
 */
export function compileLikePattern(source: string, escape?: string, maxSegment = DEFAULT_MAX_LIKE_SEGMENT): LikePattern {
  const escapeCp = escape === undefined ? undefined : escape.codePointAt(0);
  const tokens: number[] = [];
  let hasWildcard = false;
  for (let i = 0; i < source.length; ) {
    let cp = source.codePointAt(i) as number;
    i += cp > 0xffff ? 2 : 1;
    if (cp === escapeCp) {
      // ActiveMQ: the escape character makes whatever follows it literal.
      if (i >= source.length) throw new LikePatternError('LIKE pattern ends with the escape character');
      cp = source.codePointAt(i) as number;
      i += cp > 0xffff ? 2 : 1;
      tokens.push(cp);
    } else if (cp === 0x25 /* % */) {
      hasWildcard = true;
      // '%%' is the same as '%'.
      if (tokens[tokens.length - 1] !== ANY_SEQUENCE) tokens.push(ANY_SEQUENCE);
    } else if (cp === 0x5f /* _ */) {
      hasWildcard = true;
      tokens.push(ANY_ONE);
    } else {
      tokens.push(cp);
    }
  }
  if (!hasWildcard) {
    const literal = literalText(tokens);
    return {
      source,
      wildcardLength: 0,
      test(value, stats) {
        if (stats) stats.steps += 1;
        return value === literal;
      },
    };
  }
  return segmentedPattern(source, tokens, maxSegment);
}

function literalText(tokens: readonly number[]): string {
  // Not String.fromCodePoint(...tokens): spreading a long pattern could exceed the argument limit.
  return tokens.map((cp) => String.fromCodePoint(cp)).join('');
}

function segmentedPattern(source: string, tokens: readonly number[], maxSegment: number): LikePattern {
  const runs: number[][] = [[]];
  for (const t of tokens) {
    if (t === ANY_SEQUENCE) runs.push([]);
    else (runs[runs.length - 1] as number[]).push(t);
  }
  // Checked before any Shift-And table is built, so an over-long pattern costs nothing.
  let wildcardLength = 0;
  for (const run of runs) if (run.includes(ANY_ONE)) wildcardLength += run.length;
  if (wildcardLength > maxSegment) {
    throw new LikePatternError(`LIKE pattern has ${wildcardLength} characters with '_' between two '%' (at most ${maxSegment})`, 'tooComplex', wildcardLength);
  }
  const segments = runs.map(compileSegment);
  const first = segments[0] as Segment;
  const last = segments[segments.length - 1] as Segment;
  const middle = segments.slice(1, -1);
  if (segments.length === 1) {
    // No '%': the one segment must cover the whole value.
    return { source, wildcardLength, test: (value, stats) => first.at(value, 0, stats) === value.length };
  }
  return {
    source,
    wildcardLength,
    test(value, stats) {
      let pos = first.at(value, 0, stats);
      if (pos < 0) return false;
      const lastStart = startFromEnd(value, last.length, stats);
      if (lastStart < pos || last.at(value, lastStart, stats) !== value.length) return false;
      for (const s of middle) {
        pos = s.find(value, pos, lastStart, stats);
        if (pos < 0) return false;
      }
      return true;
    },
  };
}

/** Where a run of `count` code points ending at the end of `value` starts, or -1 if it is shorter. */
function startFromEnd(value: string, count: number, stats: LikeStats | undefined): number {
  let i = value.length;
  for (let k = 0; k < count; k++) {
    if (i <= 0) return -1;
    i--;
    // A low surrogate preceded by a high one is one code point, as codePointAt reads it forwards.
    const c = value.charCodeAt(i);
    if (c >= 0xdc00 && c <= 0xdfff && i > 0) {
      const h = value.charCodeAt(i - 1);
      if (h >= 0xd800 && h <= 0xdbff) i--;
    }
  }
  if (stats) stats.steps += count;
  return i;
}

function isSurrogate(cp: number): boolean {
  return cp >= 0xd800 && cp <= 0xdfff;
}

function compileSegment(run: readonly number[]): Segment {
  // A literal run is searched as a string (code units). That finds exactly the code-point matches
  // unless the run holds a lone surrogate, which could match half of a pair: those go the
  // code-point way with the wildcard segments.
  if (!run.includes(ANY_ONE) && !run.some(isSurrogate)) return literalSegment(literalText(run), run.length);
  return wildcardSegment(Int32Array.from(run));
}

function literalSegment(text: string, length: number): Segment {
  const search: LiteralSearch = literalSearch(text);
  const units = text.length;
  return {
    length,
    at(value, pos, stats) {
      if (stats) stats.steps += units;
      return value.startsWith(text, pos) ? pos + units : -1;
    },
    find(value, from, limit, stats) {
      if (units === 0) return from <= limit ? from : -1;
      const i = findLiteral(search, value, from, limit, stats);
      return i < 0 ? -1 : i + units;
    },
  };
}
