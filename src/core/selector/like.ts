/** Counts the work a LIKE match does; tests use it to prove the matcher is linear, not a clock. */
export interface LikeStats {
  steps: number;
}

/** A LIKE pattern compiled once at selector compile time. */
export interface LikePattern {
  /** The pattern text as written (after string-literal unquoting). */
  readonly source: string;
  /** True when the whole of `value` matches the pattern. */
  test(value: string, stats?: LikeStats): boolean;
}

/** Thrown for a pattern that ends in the escape character; the parser adds the position. */
export class LikePatternError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LikePatternError';
  }
}

// Compiled pattern tokens: a literal is its code point (>= 0); the wildcards are negative.
const ANY_ONE = -1; // '_'
const ANY_SEQUENCE = -2; // '%'
const PAST_END = -3; // sentinel: never equal to a code point

/**
 * Compiles a JMS LIKE pattern: `_` matches exactly one character, `%` any sequence (also empty),
 * and `escape` (one character) makes the following character literal. Matching is case-sensitive
 * and works on Unicode code points, so `_` matches one emoji.
 *
 * No regular expression is involved: a backtracking regex on `%a%a%a...` can take exponential
 * time (a RabbitMQ selector CVE came from exactly that). {@link LikePattern.test}
 * runs the two-pointer wildcard algorithm, which only ever backtracks to the most recent `%`, so it
 * does at most (value length + 1) x (pattern length + 1) steps.
 *
 * @throws LikePatternError if the pattern ends with the escape character.
 * @example
 * compileLikePattern('10\\%%', '\\').test('10% off') // true
 */
export function compileLikePattern(source: string, escape?: string): LikePattern {
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
      // '%%' is the same as '%'; collapsing keeps the step bound tight.
      if (tokens[tokens.length - 1] !== ANY_SEQUENCE) tokens.push(ANY_SEQUENCE);
    } else if (cp === 0x5f /* _ */) {
      hasWildcard = true;
      tokens.push(ANY_ONE);
    } else {
      tokens.push(cp);
    }
  }
  return hasWildcard ? fastPath(source, tokens) ?? wildcardPattern(source, tokens) : exactPattern(source, tokens);
}

function literalText(tokens: readonly number[]): string {
  // Not String.fromCodePoint(...tokens): spreading a long pattern could exceed the argument limit.
  return tokens.map((cp) => String.fromCodePoint(cp)).join('');
}

function exactPattern(source: string, tokens: readonly number[]): LikePattern {
  const literal = literalText(tokens);
  return {
    source,
    test(value, stats) {
      if (stats) stats.steps++;
      return value === literal;
    },
  };
}

/** 'abc%', '%abc', '%abc%' and '%': common shapes that plain string search answers. */
function fastPath(source: string, tokens: readonly number[]): LikePattern | undefined {
  const first = tokens[0];
  const last = tokens[tokens.length - 1];
  const leading = first === ANY_SEQUENCE;
  const trailing = last === ANY_SEQUENCE;
  const inner = tokens.slice(leading ? 1 : 0, trailing ? tokens.length - 1 : tokens.length);
  if (inner.some((t) => t < 0)) return undefined;
  const literal = literalText(inner);
  let test: (value: string) => boolean;
  if (leading && trailing) test = (value) => value.includes(literal);
  else if (leading) test = (value) => value.endsWith(literal);
  else test = (value) => value.startsWith(literal);
  return {
    source,
    test(value, stats) {
      if (stats) stats.steps++;
      return test(value);
    },
  };
}

function wildcardPattern(source: string, list: readonly number[]): LikePattern {
  const tokens = Int32Array.from(list);
  const m = tokens.length;
  return {
    source,
    test(value, stats) {
      const n = value.length;
      let i = 0; // position in value (code units, always on a code point boundary)
      let p = 0; // position in tokens
      let starP = -1; // token index of the most recent '%'
      let starI = 0; // value position that '%' is currently assumed to extend to
      let steps = 0;
      while (i < n) {
        steps++;
        const t = p < m ? (tokens[p] as number) : PAST_END;
        if (t === ANY_SEQUENCE) {
          starP = p++;
          starI = i;
          continue;
        }
        const cp = value.codePointAt(i) as number;
        if (t === ANY_ONE || t === cp) {
          i += cp > 0xffff ? 2 : 1;
          p++;
          continue;
        }
        if (starP < 0) {
          if (stats) stats.steps += steps;
          return false;
        }
        // Let the last '%' swallow one more character and retry the rest from there. Earlier '%'s
        // never need revisiting: the leftmost match of the tokens between two '%'s is always safe.
        const swallowed = value.codePointAt(starI) as number;
        starI += swallowed > 0xffff ? 2 : 1;
        i = starI;
        p = starP + 1;
      }
      while (p < m && tokens[p] === ANY_SEQUENCE) {
        steps++;
        p++;
      }
      if (stats) stats.steps += steps;
      return p === m;
    },
  };
}
