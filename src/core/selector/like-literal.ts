import type { LikeStats } from './like.ts';

/**
 * Up to this many UTF-16 units a literal is searched with `String.prototype.indexOf`; longer ones
 * with Knuth-Morris-Pratt. Measured on Node 20 (V8 11) against 1,000,000 `a`s: indexOf of a literal
 * of `a`s with one `b` stays near 4 ms for every literal up to 128 units, but takes 175 ms at 256
 * units and 595 ms at 1,024 (2,000 `a`s, `b`, 1,999 `a`s: 743 ms), its Boyer-Moore falling back
 * to O(n·m). 32 keeps a wide margin; KMP is O(n + m) whatever the input, at about 2 ns a unit.
 */
export const INDEXOF_MAX_LITERAL = 32;

/** A literal compiled for repeated searches. */
export interface LiteralSearch {
  readonly text: string;
  /** KMP failure table (longest proper border of each prefix); only for literals over the indexOf limit. */
  readonly border: Int32Array | null;
}

export function literalSearch(text: string): LiteralSearch {
  if (text.length <= INDEXOF_MAX_LITERAL) return { text, border: null };
  const m = text.length;
  const border = new Int32Array(m);
  for (let i = 1, k = 0; i < m; i++) {
    while (k > 0 && text.charCodeAt(i) !== text.charCodeAt(k)) k = border[k - 1] as number;
    if (text.charCodeAt(i) === text.charCodeAt(k)) k++;
    border[i] = k;
  }
  return { text, border };
}

/**
 * Index of the leftmost occurrence of the literal in `value` starting at `from` or later and
 * ending by `limit` (exclusive, code units), or -1. Never more than O(limit - from + m) work.
 */
export function findLiteral(s: LiteralSearch, value: string, from: number, limit: number, stats: LikeStats | undefined): number {
  const { text, border } = s;
  const m = text.length;
  if (border === null) {
    const i = value.indexOf(text, from);
    if (stats) stats.steps += (i < 0 ? value.length : i + m) - from;
    return i >= 0 && i + m <= limit ? i : -1;
  }
  let k = 0;
  let steps = 0;
  for (let i = from; i < limit; i++) {
    const c = value.charCodeAt(i);
    // Each unit read either extends the match or shortens it along the border chain; the chain
    // steps are paid for by earlier extensions, so the loop is linear overall (amortised).
    while (k > 0 && c !== text.charCodeAt(k)) {
      k = border[k - 1] as number;
      steps++;
    }
    if (c === text.charCodeAt(k)) k++;
    steps++;
    if (k === m) {
      if (stats) stats.steps += steps;
      return i + 1 - m;
    }
  }
  if (stats) stats.steps += steps;
  return -1;
}
