import type { LikeStats } from './like.ts';

/** The `_` token in a segment (a literal is its code point, >= 0). */
const ANY_ONE = -1;

/**
 * A run of literal characters and `_` between two `%` of a LIKE pattern, matched over code points
 * with the bit-parallel Shift-And algorithm (Baeza-Yates and Gonnet, 1992): bit j of the state is
 * set when the last j + 1 code points read match the segment's first j + 1 tokens, so one read
 * code point updates every partial match at once, ⌈length/32⌉ words of work however the input is
 * built. Matches all have the segment's length in code points, so the leftmost end found is the
 * end of the leftmost match.
 */
export interface WildcardSegment {
  /** Length in code points. */
  readonly length: number;
  /** End (code units) of a match anchored at `pos`, or -1. O(length). */
  at(value: string, pos: number, stats: LikeStats | undefined): number;
  /** End of the leftmost match starting at `from` or later and ending by `limit`, or -1. */
  find(value: string, from: number, limit: number, stats: LikeStats | undefined): number;
}

export function wildcardSegment(tokens: Int32Array): WildcardSegment {
  const length = tokens.length;
  const at = (value: string, pos: number, stats: LikeStats | undefined): number => {
    const n = value.length;
    let i = pos;
    for (let k = 0; k < length; k++) {
      if (i >= n) return -1;
      const cp = value.codePointAt(i) as number;
      const t = tokens[k] as number;
      if (t !== ANY_ONE && t !== cp) {
        if (stats) stats.steps += k + 1;
        return -1;
      }
      i += cp > 0xffff ? 2 : 1;
    }
    if (stats) stats.steps += length;
    return i;
  };
  const find = length <= 32 ? narrowFind(tokens) : wideFind(tokens);
  return { length, at, find };
}

/** Code points below this get their masks from an array instead of a map. */
const TABLE = 256;

/** Shift-And in one 32-bit word: segments of up to 32 code points (nearly every real pattern). */
function narrowFind(tokens: Int32Array): WildcardSegment['find'] {
  const length = tokens.length;
  let any = 0;
  for (let j = 0; j < length; j++) if (tokens[j] === ANY_ONE) any |= 1 << j;
  const table = new Int32Array(TABLE).fill(any);
  const other = new Map<number, number>();
  for (let j = 0; j < length; j++) {
    const t = tokens[j] as number;
    if (t === ANY_ONE) continue;
    if (t < TABLE) table[t] = (table[t] as number) | (1 << j);
    else other.set(t, (other.get(t) ?? any) | (1 << j));
  }
  const done = 1 << (length - 1);
  return (value, from, limit, stats) => {
    let state = 0;
    let i = from;
    let steps = 0;
    while (i < limit) {
      const cp = value.codePointAt(i) as number;
      const next = i + (cp > 0xffff ? 2 : 1);
      if (next > limit) break;
      steps++;
      state = ((state << 1) | 1) & (cp < TABLE ? (table[cp] as number) : (other.get(cp) ?? any));
      if ((state & done) !== 0) {
        if (stats) stats.steps += steps;
        return next;
      }
      i = next;
    }
    if (stats) stats.steps += steps;
    return -1;
  };
}

/**
 * Shift-And over W = ⌈length/32⌉ words. A code point that occurs at least W times in the segment
 * gets a full mask (there are fewer than 32 of them); a rarer one keeps only the list of its
 * positions, so a segment of thousands of distinct characters holds about two words per token,
 * not W per distinct character (4,096 distinct ones would take 2 MiB). Each step costs at most
 * about 4·W word operations, and only the words holding partial matches are touched.
 */
function wideFind(tokens: Int32Array): WildcardSegment['find'] {
  const length = tokens.length;
  const words = (length + 31) >>> 5;
  const anyMask = new Int32Array(words);
  const positions = new Map<number, number[]>();
  for (let j = 0; j < length; j++) {
    const t = tokens[j] as number;
    if (t === ANY_ONE) anyMask[j >>> 5] = (anyMask[j >>> 5] as number) | (1 << (j & 31));
    else {
      let list = positions.get(t);
      if (!list) positions.set(t, (list = []));
      list.push(j);
    }
  }
  const dense = new Map<number, Int32Array>();
  const sparse = new Map<number, Int32Array>();
  let maxSparse = 0;
  for (const [cp, list] of positions) {
    if (list.length >= words) {
      const mask = Int32Array.from(anyMask);
      for (const j of list) mask[j >>> 5] = (mask[j >>> 5] as number) | (1 << (j & 31));
      dense.set(cp, mask);
    } else {
      sparse.set(cp, Int32Array.from(list));
      maxSparse = Math.max(maxSparse, list.length);
    }
  }
  const lastWord = (length - 1) >>> 5;
  const lastBit = 1 << ((length - 1) & 31);
  const state = new Int32Array(words);
  const keep = new Uint8Array(maxSparse);
  return (value, from, limit, stats) => {
    state.fill(0);
    // Words [0, active) may hold set bits; the rest are zero.
    let active = 0;
    let i = from;
    let steps = 0;
    while (i < limit) {
      const cp = value.codePointAt(i) as number;
      const next = i + (cp > 0xffff ? 2 : 1);
      if (next > limit) break;
      // Shift every partial match one token on, and start a new one at bit 0.
      const top = active < words ? active + 1 : words;
      let carry = 1;
      for (let w = 0; w < top; w++) {
        const x = state[w] as number;
        state[w] = (x << 1) | carry;
        carry = x >>> 31;
      }
      // Keep only the partial matches that this code point extends.
      const mask = dense.get(cp);
      let hi = 0;
      if (mask !== undefined) {
        for (let w = 0; w < top; w++) if ((state[w] = (state[w] as number) & (mask[w] as number)) !== 0) hi = w + 1;
      } else {
        const at = sparse.get(cp);
        if (at !== undefined) for (let k = 0; k < at.length; k++) keep[k] = ((state[(at[k] as number) >>> 5] as number) >>> ((at[k] as number) & 31)) & 1;
        for (let w = 0; w < top; w++) if ((state[w] = (state[w] as number) & (anyMask[w] as number)) !== 0) hi = w + 1;
        if (at !== undefined) {
          for (let k = 0; k < at.length; k++) {
            if (keep[k] === 0) continue;
            const j = at[k] as number;
            state[j >>> 5] = (state[j >>> 5] as number) | (1 << (j & 31));
            if ((j >>> 5) + 1 > hi) hi = (j >>> 5) + 1;
          }
        }
        steps += at === undefined ? 0 : 2 * at.length;
      }
      active = hi;
      steps += 2 * top;
      if (((state[lastWord] as number) & lastBit) !== 0) {
        if (stats) stats.steps += steps;
        return next;
      }
      i = next;
    }
    if (stats) stats.steps += steps;
    return -1;
  };
}
