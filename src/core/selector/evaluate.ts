import type { SelectorResolver, SelectorValue } from './types.ts';
import type { ArithmeticOperator, ComparisonOperator, Expr } from './ast.ts';
import { booleanFromString, doubleFromString, integerFromString } from './convert.ts';

/**
 * Evaluates one compiled expression against one message. Booleans are SQL truth values with
 * `null` as UNKNOWN; other expressions yield their value, `null` meaning SQL NULL.
 */
export type Evaluator = (resolve: SelectorResolver) => SelectorValue;

/** A three-valued truth value: `null` is UNKNOWN. */
export type Truth = boolean | null;

// A numeric string as the broker accepts it in arithmetic and IN lists (a Junction extension:
// ActiveMQ concatenates in `+` and fails the other operators): decimal, optional sign, fraction and
// exponent; no whitespace, no hex, no Java suffixes. Linear in the string: no run of digits can be
// split between two quantifiers (`\d+\.?\d*` could, and backtracked through every split, n^2 steps
// for a property of n digits and a letter).
const NUMERIC_STRING = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
const INTEGER_STRING = /^[+-]?\d+$/;

/** The number a string spells, or `undefined` if it is not a plain decimal number. */
export function parseNumericString(s: string): number | undefined {
  return NUMERIC_STRING.test(s) ? Number(s) : undefined;
}

/**
 * How the type of a numeric operand is known. JavaScript has one number type, JMS two (exact:
 * Java int/long; approximate: float/double), and the type decides integer versus double arithmetic
 * and how a string converts in a comparison. `AUTO`: from the value (an integral number is exact;
 * property values carry no Java type, so an integral double property counts as exact). `APPROX`:
 * an approximate literal. `NESTED`: arithmetic or a sign, whose evaluator reports the type in
 * {@link approximate}.
 */
const AUTO = 0;
const APPROX = 1;
const NESTED = 2;
type Mode = typeof AUTO | typeof APPROX | typeof NESTED;

/**
 * Whether the number the last arithmetic or sign evaluator returned is approximate. One cell for
 * every selector without allocating per evaluation: evaluation is synchronous and every reader
 * reads it right after the call that set it, before evaluating anything else.
 */
let approximate = false;

function modeOf(e: Expr): Mode {
  if (e.type === 'unary' || e.type === 'arithmetic') return NESTED;
  return e.type === 'literal' && e.approximate === true ? APPROX : AUTO;
}

/** The mode of a value just evaluated: NESTED resolves to the type its evaluator reported. */
function resolved(mode: Mode): Mode {
  return mode === NESTED ? (approximate ? APPROX : AUTO) : mode;
}

/**
 * An operand of arithmetic as a number, setting {@link approximate} to its type; `undefined`
 * (UNKNOWN) for NULL and booleans. A string that spells a number computes as that number (an
 * integer string as an exact numeric), the extension the STOMP examples rely on.
 */
function operandNumber(v: SelectorValue, mode: Mode): number | undefined {
  if (typeof v === 'number') {
    // NESTED keeps the flag its evaluator has just set.
    if (mode !== NESTED) approximate = mode === APPROX || !Number.isInteger(v);
    return v;
  }
  if (typeof v !== 'string') return undefined;
  const n = parseNumericString(v);
  if (n !== undefined) approximate = !INTEGER_STRING.test(v);
  return n;
}

function compareNumbers(op: ComparisonOperator, x: number, y: number): boolean {
  switch (op) {
    case '=': return x === y;
    case '<>': return x !== y;
    case '<': return x < y;
    case '<=': return x <= y;
    case '>': return x > y;
    case '>=': return x >= y;
  }
}

function compareStrings(op: ComparisonOperator, x: string, y: string): boolean {
  // Ordering by UTF-16 code units, as Java's String.compareTo (ActiveMQ orders two string
  // properties so; the parser refuses a string literal in an ordering comparison).
  switch (op) {
    case '=': return x === y;
    case '<>': return x !== y;
    case '<': return x < y;
    case '<=': return x <= y;
    case '>': return x > y;
    case '>=': return x >= y;
  }
}

/** JMS 1.1: only = and <> are defined for booleans; ordering two boolean values is UNKNOWN. */
function compareBooleans(op: ComparisonOperator, x: boolean, y: boolean): Truth {
  if (op === '=') return x === y;
  if (op === '<>') return x !== y;
  return null;
}

/**
 * A string compared with number `n`, as ActiveMQ does (see convert.ts): with integer parsing when
 * `n` is exact (so `'3.5'` and `'5.0'` do not convert to compare with `5`, `'+5'` does), then an
 * ordinary comparison; with Java's double parsing when `n` is approximate, then Java's
 * `Double.compareTo` order, as ActiveMQ compares two Doubles (`'NaN'` equals itself and is above
 * every number, `'-0'` is below `0.0`). `undefined` when the string does not convert.
 * `stringFirst` says which side the string was on.
 */
function compareStringWithNumber(op: ComparisonOperator, s: string, n: number, mode: Mode, stringFirst: boolean): Truth | undefined {
  if (mode !== APPROX && Number.isInteger(n)) {
    const i = integerFromString(s, n);
    if (i === undefined) return undefined;
    return stringFirst ? compareNumbers(op, i, n) : compareNumbers(op, n, i);
  }
  const d = doubleFromString(s);
  if (d === undefined) return undefined;
  const c = stringFirst ? javaDoubleCompare(d, n) : javaDoubleCompare(n, d);
  return compareNumbers(op, c, 0);
}

/** Java's `Double.compare`: a total order with NaN above everything and -0.0 below 0.0. */
function javaDoubleCompare(x: number, y: number): number {
  if (x < y) return -1;
  if (x > y) return 1;
  const xNaN = Number.isNaN(x);
  const yNaN = Number.isNaN(y);
  if (xNaN || yNaN) return xNaN === yNaN ? 0 : xNaN ? 1 : -1;
  if (x === 0) return Object.is(x, y) ? 0 : Object.is(x, -0) ? -1 : 1;
  return 0;
}

/**
 * SQL comparison with JMS typing, as ActiveMQ Classic's `ComparisonExpression.compare` over STOMP:
 * NULL on either side is UNKNOWN; two numbers compare numerically, two strings as strings, two
 * booleans with = and <> only. When the types differ the string converts to the other operand's
 * type (convert.ts); a string that does not convert, or a number against a boolean, makes the
 * comparison FALSE, not UNKNOWN; `<>` is NOT `=` in ActiveMQ, so it is TRUE (`x <> 10` selects
 * `x:abc`, and so does `NOT (x > 5)`). `am`/`bm` say whether a numeric operand is exact or
 * approximate; they are read only when the types differ.
 */
function compareValues(op: ComparisonOperator, a: SelectorValue, am: Mode, b: SelectorValue, bm: Mode): Truth {
  if (a === null || a === undefined || b === null || b === undefined) return null;
  const ta = typeof a;
  if (ta === typeof b) {
    if (ta === 'number') return compareNumbers(op, a as number, b as number);
    if (ta === 'string') return compareStrings(op, a as string, b as string);
    return compareBooleans(op, a as boolean, b as boolean);
  }
  if (typeof a === 'string') {
    if (typeof b === 'number') return compareStringWithNumber(op, a, b, bm, true) ?? op === '<>';
    return compareBooleans(op, booleanFromString(a), b as boolean);
  }
  if (typeof b === 'string') {
    if (typeof a === 'number') return compareStringWithNumber(op, b, a, am, false) ?? op === '<>';
    // ActiveMQ 5.17 throws a ClassCastException for a boolean on the left of a string (`TRUE = x`
    // selects nothing, nor does its negation); Junction converts on either side alike.
    return compareBooleans(op, a as boolean, booleanFromString(b));
  }
  // A number against a boolean: ActiveMQ answers FALSE for classes it cannot convert.
  return op === '<>';
}

/** Anything but a boolean in a logical position is UNKNOWN. */
function truth(v: SelectorValue): Truth {
  return v === true || v === false ? v : null;
}

function not3(t: Truth): Truth {
  return t === null ? null : !t;
}

function and3(a: Truth, b: Truth): Truth {
  if (a === false || b === false) return false;
  return a === null || b === null ? null : true;
}

function or3(a: Truth, b: Truth): Truth {
  if (a === true || b === true) return true;
  return a === null || b === null ? null : false;
}

/**
 * One arithmetic step. JMS 1.1 §3.8.1.1 follows Java's numeric promotion: two exact operands give
 * an exact result, so `/` truncates towards zero (`7 / 2` is 3, `-7 / 2` is -3); one approximate
 * operand makes it double arithmetic (`7.0 / 2` is 3.5). ActiveMQ Classic divides in double
 * whatever the types (docs/selectors.md lists the deviation). Exact values stay exact up to
 * 2^53 (JavaScript numbers); Java's long would wrap at 2^63.
 */
function arithmetic(op: ArithmeticOperator, x: number, y: number, exact: boolean): number | null {
  switch (op) {
    case '+': return x + y;
    case '-': return x - y;
    case '*': return x * y;
    case '/':
      // Java: an int or long divided by zero throws (UNKNOWN here); a double gives ±Infinity, or
      // NaN for 0.0 / 0 (UNKNOWN: the arithmetic evaluator maps NaN to NULL), as ActiveMQ does.
      if (exact) return y === 0 ? null : Math.trunc(x / y);
      return x / y;
  }
}

export interface EvaluatorOptions {
  /**
   * LIKE against a longer string is UNKNOWN (neither LIKE nor NOT LIKE matches): the bound on what
   * one evaluation may cost whatever the message size (see `selectors.maxLikeValueLength`).
   */
  readonly maxLikeValueLength: number;
}

/**
 * Turns an AST into a tree of closures, once per selector, so evaluating a message never looks
 * at the text or the AST again. Recursion depth equals the AST depth, which the parser bounds.
 */
export function buildEvaluator(e: Expr, opts: EvaluatorOptions): Evaluator {
  const build = (x: Expr): Evaluator => buildEvaluator(x, opts);
  switch (e.type) {
    case 'literal': {
      const value = e.value;
      return () => value;
    }
    case 'identifier': {
      const name = e.name;
      return (resolve) => {
        const v = resolve(name);
        return v === undefined ? null : v;
      };
    }
    case 'unary': {
      const operand = build(e.operand);
      const mode = modeOf(e.operand);
      const negate = e.op === '-';
      // operandNumber leaves the operand's type in `approximate`: a sign keeps it.
      return (resolve) => {
        const x = operandNumber(operand(resolve), mode);
        if (x === undefined) return null;
        return negate ? -x : x;
      };
    }
    case 'arithmetic':
      return arithmeticEvaluator(e.operands.map(build), e.operands.map(modeOf), e.ops);
    case 'comparison': {
      const { op } = e;
      const left = build(e.left);
      const right = build(e.right);
      const lm = modeOf(e.left);
      const rm = modeOf(e.right);
      // The common case (a property against a literal) reads no flag: one call, as before issue 12.
      if (lm !== NESTED && rm !== NESTED) return (resolve) => compareValues(op, left(resolve), lm, right(resolve), rm);
      return (resolve) => {
        const a = left(resolve);
        const am = resolved(lm); // before the right side overwrites `approximate`
        const b = right(resolve);
        return compareValues(op, a, am, b, resolved(rm));
      };
    }
    case 'between': {
      const { negated } = e;
      const operand = build(e.operand);
      const low = build(e.low);
      const high = build(e.high);
      const vMode = modeOf(e.operand);
      const lowMode = modeOf(e.low);
      const highMode = modeOf(e.high);
      return (resolve) => {
        const v = operand(resolve);
        if (v === null || v === undefined) return null;
        const vm = resolved(vMode);
        const lo = low(resolve);
        const lom = resolved(lowMode);
        const hi = high(resolve);
        const him = resolved(highMode);
        // JMS 1.1: "age BETWEEN 15 AND 19" is "age >= 15 AND age <= 19", "age NOT BETWEEN 15 AND 19"
        // is "age < 15 OR age > 19". Not NOT (BETWEEN): a string that does not convert makes each
        // comparison FALSE, so 'abc' is neither BETWEEN 5 AND 10 nor NOT BETWEEN (ActiveMQ).
        if (negated) return or3(compareValues('<', v, vm, lo, lom), compareValues('>', v, vm, hi, him));
        return and3(compareValues('>=', v, vm, lo, lom), compareValues('<=', v, vm, hi, him));
      };
    }
    case 'in': {
      const { negated } = e;
      const operand = build(e.operand);
      const member = membership(e.values);
      return (resolve) => {
        const t = member(operand(resolve));
        return negated ? not3(t) : t;
      };
    }
    case 'like': {
      const { negated, pattern } = e;
      const operand = build(e.operand);
      const maxLength = opts.maxLikeValueLength;
      return (resolve) => {
        const v = operand(resolve);
        // LIKE applies to strings only: NULL and other types are UNKNOWN (so NOT LIKE is too).
        if (typeof v !== 'string' || v.length > maxLength) return null;
        return pattern.test(v) !== negated;
      };
    }
    case 'isNull': {
      const { negated } = e;
      const operand = build(e.operand);
      // Never UNKNOWN.
      return (resolve) => {
        const v = operand(resolve);
        return (v === null || v === undefined) !== negated;
      };
    }
    case 'not': {
      const operand = build(e.operand);
      return (resolve) => not3(truth(operand(resolve)));
    }
    case 'and': {
      const operands = e.operands.map(build);
      return (resolve) => {
        let unknown = false;
        for (const operand of operands) {
          const t = truth(operand(resolve));
          if (t === false) return false; // FALSE AND anything is FALSE
          if (t === null) unknown = true;
        }
        return unknown ? null : true;
      };
    }
    case 'or': {
      const operands = e.operands.map(build);
      return (resolve) => {
        let unknown = false;
        for (const operand of operands) {
          const t = truth(operand(resolve));
          if (t === true) return true; // TRUE OR anything is TRUE
          if (t === null) unknown = true;
        }
        return unknown ? null : false;
      };
    }
  }
}

/** Folds `operands[0] ops[0] operands[1] ...` left to right; leaves the result's type in `approximate`. */
function arithmeticEvaluator(operands: readonly Evaluator[], modes: readonly Mode[], ops: readonly ArithmeticOperator[]): Evaluator {
  return (resolve) => {
    let acc = operandNumber((operands[0] as Evaluator)(resolve), modes[0] as Mode);
    if (acc === undefined) return null;
    let accApproximate = approximate;
    for (let i = 0; i < ops.length; i++) {
      const y = operandNumber((operands[i + 1] as Evaluator)(resolve), modes[i + 1] as Mode);
      if (y === undefined) return null;
      accApproximate ||= approximate;
      const r = arithmetic(ops[i] as ArithmeticOperator, acc, y, !accApproximate);
      if (r === null) return null;
      acc = r;
    }
    approximate = accApproximate;
    return Number.isNaN(acc) ? null : acc;
  };
}

/**
 * `x IN (...)` is `x = v1 OR x = v2 OR ...` under the comparison rules above, precomputed into
 * sets. NULL is UNKNOWN; no match is FALSE unless some element was incomparable (UNKNOWN).
 */
function membership(values: readonly (string | number)[]): (v: SelectorValue) => Truth {
  const strings = new Set<string>();
  const numbers = new Set<number>(); // numeric literals
  const numbersAndNumericStrings = new Set<number>(); // what a number value can equal
  let nonNumericStrings = false; // some element is UNKNOWN against any number
  for (const value of values) {
    if (typeof value === 'number') {
      numbers.add(value);
      numbersAndNumericStrings.add(value);
      continue;
    }
    strings.add(value);
    const n = parseNumericString(value);
    if (n === undefined) nonNumericStrings = true;
    else numbersAndNumericStrings.add(n);
  }
  return (v) => {
    if (typeof v === 'string') {
      if (strings.has(v)) return true;
      if (numbers.size === 0) return false;
      const n = parseNumericString(v);
      if (n === undefined) return null; // a non-numeric string against a number is UNKNOWN
      return numbers.has(n);
    }
    if (typeof v === 'number') {
      // Set.has treats NaN as equal to NaN; SQL comparison does not.
      if (!Number.isNaN(v) && numbersAndNumericStrings.has(v)) return true;
      return nonNumericStrings ? null : false;
    }
    return null; // NULL, or a boolean: never comparable with the literals
  };
}
