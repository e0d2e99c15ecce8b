import type { SelectorResolver, SelectorValue } from './types.ts';
import type { ArithmeticOperator, ComparisonOperator, Expr } from './parser.ts';

/**
 * Evaluates one compiled expression against one message. Booleans are SQL truth values with
 * `null` as UNKNOWN; other expressions yield their value, `null` meaning SQL NULL.
 */
export type Evaluator = (resolve: SelectorResolver) => SelectorValue;

/** A three-valued truth value: `null` is UNKNOWN. */
export type Truth = boolean | null;

// A numeric string as the broker accepts it from a STOMP header: decimal, optional sign, fraction
// and exponent; no whitespace, no hex, no Java suffixes.
const NUMERIC_STRING = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/** The number a string spells, or `undefined` if it is not a plain decimal number. */
export function parseNumericString(s: string): number | undefined {
  return NUMERIC_STRING.test(s) ? Number(s) : undefined;
}

/**
 * A value as a number for arithmetic and mixed comparisons. ActiveMQ behaviour the broker relies
 * on: a string that spells a number counts as that number (STOMP headers are all strings).
 */
export function toNumber(v: SelectorValue): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'string') return parseNumericString(v);
  return undefined;
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
  // Ordering by UTF-16 code units, as Java's String.compareTo (ActiveMQ allows < > on strings).
  switch (op) {
    case '=': return x === y;
    case '<>': return x !== y;
    case '<': return x < y;
    case '<=': return x <= y;
    case '>': return x > y;
    case '>=': return x >= y;
  }
}

/**
 * SQL comparison with JMS typing: NULL on either side is UNKNOWN; numbers compare numerically
 * (integer vs float too); strings compare with strings; booleans support only = and <>. A string
 * against a number compares numerically when the string spells a number. Any other mix of types
 * is UNKNOWN.
 */
export function compareValues(op: ComparisonOperator, a: SelectorValue, b: SelectorValue): Truth {
  if (a === null || a === undefined || b === null || b === undefined) return null;
  if (typeof a === 'number') {
    const y = typeof b === 'number' ? b : typeof b === 'string' ? parseNumericString(b) : undefined;
    return y === undefined ? null : compareNumbers(op, a, y);
  }
  if (typeof a === 'string') {
    if (typeof b === 'string') return compareStrings(op, a, b);
    if (typeof b !== 'number') return null;
    const x = parseNumericString(a);
    return x === undefined ? null : compareNumbers(op, x, b);
  }
  // a is boolean
  if (typeof b !== 'boolean') return null;
  if (op === '=') return a === b;
  if (op === '<>') return a !== b;
  return null;
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

function arithmetic(op: ArithmeticOperator, x: number, y: number): number | null {
  switch (op) {
    case '+': return x + y;
    case '-': return x - y;
    case '*': return x * y;
    case '/': return y === 0 ? null : x / y; // division by zero is UNKNOWN, not Infinity
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
      const negate = e.op === '-';
      return (resolve) => {
        const x = toNumber(operand(resolve));
        if (x === undefined) return null;
        return negate ? -x : x;
      };
    }
    case 'arithmetic':
      return arithmeticEvaluator(e.operands.map(build), e.ops);
    case 'comparison': {
      const { op } = e;
      const left = build(e.left);
      const right = build(e.right);
      return (resolve) => compareValues(op, left(resolve), right(resolve));
    }
    case 'between': {
      const { negated } = e;
      const operand = build(e.operand);
      const low = build(e.low);
      const high = build(e.high);
      return (resolve) => {
        const v = operand(resolve);
        if (v === null || v === undefined) return null;
        // JMS 1.1: "age BETWEEN 15 AND 19" is equivalent to "age >= 15 AND age <= 19".
        const t = and3(compareValues('>=', v, low(resolve)), compareValues('<=', v, high(resolve)));
        return negated ? not3(t) : t;
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

function arithmeticEvaluator(operands: readonly Evaluator[], ops: readonly ArithmeticOperator[]): Evaluator {
  return (resolve) => {
    let acc = toNumber((operands[0] as Evaluator)(resolve));
    if (acc === undefined) return null;
    for (let i = 0; i < ops.length; i++) {
      const y = toNumber((operands[i + 1] as Evaluator)(resolve));
      if (y === undefined) return null;
      const r = arithmetic(ops[i] as ArithmeticOperator, acc, y);
      if (r === null) return null;
      acc = r;
    }
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
