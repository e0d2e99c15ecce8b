/**
 * How a string property is converted when a selector compares it with a number or a boolean, as
 * ActiveMQ Classic does for STOMP (every STOMP header is a string): its STOMP transport compiles
 * selectors with `convert_string_expressions`, and `ComparisonExpression.compare` then converts the
 * string to the other operand's class with Java's `Integer.valueOf`, `Long.valueOf`,
 * `Double.valueOf` or `Boolean.valueOf`. A string those refuse (`NumberFormatException`) makes the
 * comparison FALSE, not UNKNOWN. Each rule below was checked against ActiveMQ 5.17.
 *
 * These run only when the two operands' types differ, never on the same-type fast path.
 */

const INT_MIN = -2_147_483_648;
const INT_MAX = 2_147_483_647;
const LONG_MIN = -(2n ** 63n);
const LONG_MAX = 2n ** 63n - 1n;

// Java's Integer/Long.parseLong in radix 10: one optional sign, then digits; no whitespace, no
// suffix, no hex, no fraction ('3.5', '5.0', ' 5', '0x5', '5L' and '1e1' all fail; '+5' and '05'
// convert). Java's Character.digit also reads the other decimal digits of the BMP ('\u0665' is 5).
const JAVA_INTEGER = /^[+-]?[0-9]+$/;
const UNICODE_INTEGER = /^[+-]?\p{Nd}+$/u;
const DIGIT = /\p{Nd}/u;

// Java's Double.valueOf after its trim: decimal with optional exponent, NaN, Infinity, or a
// hexadecimal floating-point literal; each may end in a float or double suffix (f, F, d, D). No run
// of digits can be split between two quantifiers (`[0-9]+\.?[0-9]*` could, and backtracked through
// every split: a property of n digits and a letter cost n^2 steps), so a match is linear in the
// string, whose length only the message size bounds.
const JAVA_DOUBLE = /^[+-]?(?:NaN|Infinity|(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?[fFdD]?|0[xX](?:[0-9a-fA-F]+\.?|[0-9a-fA-F]*\.[0-9a-fA-F]+)[pP][+-]?[0-9]+[fFdD]?)$/;
/** Significant digits of the longest long (9223372036854775807): a string with more converts to none. */
const MAX_LONG_DIGITS = 19;

/**
 * The integer a string spells for a comparison with an exact number, or `undefined` when Java's
 * integer parsing refuses it. `n` is the exact operand: a literal in the int range is a Java
 * `Integer` (ActiveMQ narrows literals so), so the string must fit 32 bits; a larger one a `Long`,
 * 64 bits. Values beyond 2^53 lose precision as every JavaScript number does.
 */
export function integerFromString(s: string, n: number): number | undefined {
  let ascii = s;
  if (!JAVA_INTEGER.test(s)) {
    const a = UNICODE_INTEGER.test(s) ? asciiDigits(s) : undefined;
    if (a === undefined) return undefined;
    ascii = a;
  }
  return integerInRange(ascii, n);
}

function integerInRange(s: string, n: number): number | undefined {
  // Past the sign and leading zeros (Java accepts any number of them), more than 19 digits fit no
  // long: refused before anything reads them all (BigInt of a megabyte of digits takes seconds).
  const sign = s.charCodeAt(0) === 0x2b || s.charCodeAt(0) === 0x2d ? 1 : 0;
  let first = sign;
  while (first < s.length - 1 && s.charCodeAt(first) === 0x30) first++;
  if (s.length - first > MAX_LONG_DIGITS) return undefined;
  const v = Number(s);
  if (n >= INT_MIN && n <= INT_MAX) return v >= INT_MIN && v <= INT_MAX ? v : undefined;
  // 16+ digits may pass 2^63: check the range exactly (rare, only for huge strings).
  if (s.length - first > 15) {
    const b = BigInt(s.slice(0, sign) + s.slice(first));
    if (b < LONG_MIN || b > LONG_MAX) return undefined;
  }
  return v;
}

/**
 * A string of decimal digits of any script as ASCII digits, or `undefined` when one is outside the
 * BMP (Java's parseInt reads UTF-16 units, and a surrogate is no digit). Unicode places each
 * script's digits 0-9 in one run of ten, and adjacent runs (the mathematical digits) are each ten
 * long, so a digit's value is its distance from the start of its block of digits, modulo 10.
 */
function asciiDigits(s: string): string | undefined {
  let out = '';
  // Leading zeros are dropped, and more than 19 other digits fit no long (see integerInRange): the
  // walk below costs up to ten steps a digit, so it stops there rather than read a huge string.
  let digits = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    let d: string;
    if (c < 0x80) {
      d = s[i] as string;
      if (d === '+' || d === '-') {
        out += d;
        continue;
      }
    } else {
      if (c >= 0xd800 && c <= 0xdfff) return undefined;
      let start = c;
      while (start > 0 && DIGIT.test(String.fromCharCode(start - 1))) start--;
      d = String((c - start) % 10);
    }
    if (digits === 0 && d === '0' && i < s.length - 1) continue;
    if (++digits > MAX_LONG_DIGITS) return undefined;
    out += d;
  }
  return out;
}

/** The double a string spells as Java's `Double.valueOf` reads it, or `undefined` when it refuses. */
export function doubleFromString(s: string): number | undefined {
  let t = s;
  // Only strings that start or end with a control character or a space pay for the trim.
  if (t.length > 0 && (t.charCodeAt(0) <= 0x20 || t.charCodeAt(t.length - 1) <= 0x20)) t = javaTrim(t);
  if (!JAVA_DOUBLE.test(t)) return undefined;
  let end = t.length;
  const last = t.charCodeAt(end - 1);
  // A trailing f/F/d/D is the type suffix (a hex float ends in its exponent's decimal digits).
  if (last === 0x66 || last === 0x46 || last === 0x64 || last === 0x44) end--;
  const body = end === t.length ? t : t.slice(0, end);
  const sign = body[0] === '-' ? -1 : 1;
  const unsigned = body[0] === '-' || body[0] === '+' ? body.slice(1) : body;
  if (unsigned === 'NaN') return Number.NaN;
  if (unsigned === 'Infinity') return sign * Number.POSITIVE_INFINITY;
  if (unsigned[1] === 'x' || unsigned[1] === 'X') return sign * hexFloat(unsigned.slice(2));
  return Number(body);
}

/**
 * Java's String.trim: every character up to U+0020 off either end. A scan from each end, not a
 * regular expression: `/[\u0000-\u0020]+$/g` tried every position of an inner run of spaces (n^2).
 */
function javaTrim(s: string): string {
  let start = 0;
  let end = s.length;
  while (start < end && s.charCodeAt(start) <= 0x20) start++;
  while (end > start && s.charCodeAt(end - 1) <= 0x20) end--;
  return s.slice(start, end);
}

/** `mantissa p exponent` of a Java hexadecimal floating-point literal (after the `0x`). */
function hexFloat(s: string): number {
  const p = s.search(/[pP]/);
  const mantissa = s.slice(0, p);
  const exponent = Number(s.slice(p + 1));
  const dot = mantissa.indexOf('.');
  const digits = dot < 0 ? mantissa : mantissa.slice(0, dot) + mantissa.slice(dot + 1);
  const fraction = dot < 0 ? 0 : mantissa.length - dot - 1;
  let m = 0;
  for (let i = 0; i < digits.length; i++) m = m * 16 + Number.parseInt(digits[i] as string, 16);
  return m * 2 ** (exponent - 4 * fraction);
}

/**
 * Java's `Boolean.valueOf(String)`: true for `true` in any case, false for every other string
 * (ActiveMQ: `x = FALSE` selects `x:abc`). It never refuses, so a string never makes a comparison
 * with a boolean FALSE by failing to convert.
 */
export function booleanFromString(s: string): boolean {
  return s.length === 4 && s.toLowerCase() === 'true';
}
