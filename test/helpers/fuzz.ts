/**
 * Seeded randomness for the decoder fuzz passes. `npm test` runs each pass with a fixed seed and a
 * few thousand cases; `npm run fuzz` runs them longer (`FUZZ_CASES`, `FUZZ_SEED` override both), and
 * a failing case prints the seed and case number that reproduce it.
 */

/** Cases per fuzz pass: `FUZZ_CASES`, or `fallback` (a few thousand, for `npm test`). */
export function fuzzCases(fallback = 3000): number {
  const n = Number(process.env.FUZZ_CASES);
  return Number.isInteger(n) && n > 0 ? n : fallback;
}

/** The seed of a fuzz pass: `FUZZ_SEED`, or the pass's own fixed seed. */
export function fuzzSeed(fixed: number): number {
  const n = Number(process.env.FUZZ_SEED);
  return Number.isInteger(n) ? n : fixed;
}

/** A small, fast, seeded generator (mulberry32): the same seed gives the same cases on every machine. */
export class Rng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** One of `items`. */
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }

  /** `n` random bytes. */
  bytes(n: number): Buffer {
    const b = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) b[i] = this.int(256);
    return b;
  }

  /**
   * A mutation of `input`: a few bytes flipped, set to boundary values (0x00, 0xff, 0x7f, 0x80),
   * inserted, deleted, or the buffer cut short or extended, so that the result is mostly valid and
   * reaches deep into a decoder.
   */
  mutate(input: Buffer): Buffer {
    let b = Buffer.from(input);
    const edits = 1 + this.int(4);
    for (let e = 0; e < edits; e++) {
      const at = b.length === 0 ? 0 : this.int(b.length);
      switch (this.int(7)) {
        case 0:
          if (b.length) b[at] = b[at]! ^ (1 << this.int(8));
          break;
        case 1:
          if (b.length) b[at] = this.pick([0x00, 0xff, 0x7f, 0x80, 0x40, 0xfe]);
          break;
        case 2:
          b = Buffer.concat([b.subarray(0, at), this.bytes(1 + this.int(8)), b.subarray(at)]);
          break;
        case 3:
          b = Buffer.concat([b.subarray(0, at), b.subarray(Math.min(b.length, at + 1 + this.int(8)))]);
          break;
        case 4:
          b = b.subarray(0, at);
          break;
        case 5:
          // A 32-bit field set to a huge value (lengths and counts).
          if (b.length >= 4) b.writeUInt32BE(this.pick([0xffffffff, 0x7fffffff, 0x80000000, 0x0000ffff, 0x00010000]), Math.min(at, b.length - 4));
          break;
        default:
          b = Buffer.concat([b, this.bytes(this.int(16))]);
      }
    }
    return b;
  }
}
