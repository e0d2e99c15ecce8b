/**
 * The JMS selector parser: tokens (lexer.ts) to the AST (ast.ts), with the static type checks JMS 1.1
 * 3.8.1.1 asks for and the nesting and LIKE budgets. One recursive-descent class, one method per
 * precedence level of the grammar (OR, AND, NOT, comparison, arithmetic, unary, primary): the
 * levels call each other, so they stay in one file (split off: the AST types, lexing, LIKE patterns).
 */
import { SelectorError } from '../../errors.ts';
import { compileLikePattern, DEFAULT_MAX_LIKE_SEGMENT, LikePatternError, type LikePattern } from './like.ts';
import type { ArithmeticOperator, ComparisonOperator, Expr } from './ast.ts';
import { describeToken, tokenize, type Keyword, type Punctuator, type Token } from './lexer.ts';

export interface ParseOptions {
  /** Maximum nesting of parentheses, NOT and unary signs. */
  readonly maxDepth: number;
  /**
   * Most characters all LIKE patterns of the selector may hold in stretches between two `%` that
   * contain `_` (see like.ts): a budget for the whole selector, not for each pattern.
   */
  readonly maxLikeSegment?: number;
  /** Most LIKE predicates in the selector (see `selectors.maxLikes`). */
  readonly maxLikes?: number;
}

/** A parsed selector: the expression, or `undefined` when empty, and how many LIKEs it holds. */
export interface ParsedSelector {
  readonly expr: Expr | undefined;
  readonly likes: number;
}

/**
 * Parses selector text into an AST. Returns `undefined` for an empty (or all-whitespace)
 * selector, which the caller treats as "match everything".
 *
 * @throws SelectorError ERR_SELECTOR_SYNTAX with the position of the offending token, or
 *   ERR_SELECTOR_TOO_COMPLEX when nesting exceeds `maxDepth`.
 */
export function parseSelector(text: string, options: ParseOptions): ParsedSelector {
  const tokens = tokenize(text);
  if (tokens.length === 1) return { expr: undefined, likes: 0 };
  const parser = new Parser(text, tokens, options);
  return { expr: parser.parse(), likes: parser.likes };
}

/** What an expression is known to produce before any message is seen ('any': identifiers, NULL). */
type StaticType = 'boolean' | 'numeric' | 'string' | 'any';

function staticType(e: Expr): StaticType {
  switch (e.type) {
    case 'literal':
      if (e.value === null) return 'any';
      if (typeof e.value === 'number') return 'numeric';
      return typeof e.value as 'boolean' | 'string';
    case 'identifier':
      return 'any';
    case 'unary':
    case 'arithmetic':
      return 'numeric';
    default:
      return 'boolean';
  }
}

const COMPARISON: ReadonlySet<Punctuator> = new Set<Punctuator>(['=', '<>', '<', '<=', '>', '>=']);

class Parser {
  readonly #text: string;
  readonly #tokens: readonly Token[];
  readonly #maxDepth: number;
  readonly #maxLikeSegment: number;
  readonly #maxLikes: number;
  #index = 0;
  #depth = 0;
  /** Characters of the selector's `_` stretch budget used by the LIKE patterns parsed so far. */
  #wildcardUsed = 0;
  /** LIKE predicates parsed so far. */
  likes = 0;

  constructor(text: string, tokens: readonly Token[], options: ParseOptions) {
    this.#text = text;
    this.#tokens = tokens;
    this.#maxDepth = options.maxDepth;
    this.#maxLikeSegment = options.maxLikeSegment ?? DEFAULT_MAX_LIKE_SEGMENT;
    this.#maxLikes = options.maxLikes ?? Number.MAX_SAFE_INTEGER;
  }

  parse(): Expr {
    const e = this.#booleanOperand(this.#or());
    const t = this.#peek();
    if (t.kind !== 'eof') throw this.#unexpected(t);
    return e;
  }

  // ---- token helpers ----

  #peek(): Token {
    // The token list always ends with 'eof' and the index never moves past it.
    return this.#tokens[this.#index] as Token;
  }

  #next(): Token {
    const t = this.#peek();
    if (t.kind !== 'eof') this.#index++;
    return t;
  }

  #isKeyword(k: Keyword): boolean {
    const t = this.#peek();
    return t.kind === 'keyword' && t.keyword === k;
  }

  #isPunct(p: Punctuator): boolean {
    const t = this.#peek();
    return t.kind === 'punct' && t.punct === p;
  }

  #error(message: string, pos: number): SelectorError {
    return new SelectorError(message, pos);
  }

  #unexpected(t: Token): SelectorError {
    if (t.kind === 'eof') return this.#error('Unexpected end of selector', t.pos);
    return this.#error(`Unexpected token ${describeToken(this.#text, t)}`, t.pos);
  }

  #expected(what: string, t: Token): SelectorError {
    return this.#error(`${what}, found ${describeToken(this.#text, t)}`, t.pos);
  }

  /** Nesting guard: the parser recurses once per level, so this is what keeps the stack safe. */
  #enter(pos: number): void {
    if (++this.#depth > this.#maxDepth) {
      throw new SelectorError(`Selector nesting exceeds the maximum depth of ${this.#maxDepth}`, pos, 'ERR_SELECTOR_TOO_COMPLEX');
    }
  }

  #leave(): void {
    this.#depth--;
  }

  // ---- static type checks (ActiveMQ rejects these at parse time too) ----

  #booleanOperand(e: Expr): Expr {
    const type = staticType(e);
    if (type !== 'boolean' && type !== 'any') throw this.#error(`Expected a boolean expression but found a ${type} expression`, e.pos);
    return e;
  }

  #numericOperand(e: Expr): Expr {
    const type = staticType(e);
    if (type !== 'numeric' && type !== 'any') throw this.#error(`Expected a numeric expression but found a ${type} expression`, e.pos);
    return e;
  }

  /**
   * JMS 1.1 §3.8.1.1: "String and Boolean comparison is restricted to = and <>", so `<`, `<=`, `>`,
   * `>=` and BETWEEN refuse a string or boolean operand known from the text. ActiveMQ Classic
   * (`ComparisonExpression.checkLessThanOperand`) refuses a NULL literal there too: it could only
   * ever be UNKNOWN. An identifier may still hold a string at run time: two string properties
   * compare by UTF-16 code units, as Java's `String.compareTo` does in ActiveMQ.
   */
  #orderedOperand(op: string, e: Expr): Expr {
    const type = e.type === 'literal' && e.value === null ? 'NULL' : staticType(e);
    if (type === 'string' || type === 'boolean' || type === 'NULL') {
      throw this.#error(`Operator '${op}' is not defined for ${type === 'NULL' ? 'NULL' : `${type} values`}`, e.pos);
    }
    return e;
  }

  #valueOperand(e: Expr): Expr {
    if (staticType(e) === 'boolean') throw this.#error('Expected a value but found a boolean expression', e.pos);
    return e;
  }

  // ---- grammar, lowest precedence first: OR, AND, NOT, predicates, + -, * /, unary, primary ----

  #or(): Expr {
    const first = this.#and();
    if (!this.#isKeyword('OR')) return first;
    const operands = [this.#booleanOperand(first)];
    while (this.#isKeyword('OR')) {
      this.#next();
      operands.push(this.#booleanOperand(this.#and()));
    }
    return { type: 'or', operands, pos: first.pos };
  }

  #and(): Expr {
    const first = this.#not();
    if (!this.#isKeyword('AND')) return first;
    const operands = [this.#booleanOperand(first)];
    while (this.#isKeyword('AND')) {
      this.#next();
      operands.push(this.#booleanOperand(this.#not()));
    }
    return { type: 'and', operands, pos: first.pos };
  }

  #not(): Expr {
    if (!this.#isKeyword('NOT')) return this.#predicate();
    const t = this.#next();
    this.#enter(t.pos);
    const operand = this.#booleanOperand(this.#not());
    this.#leave();
    return { type: 'not', operand, pos: t.pos };
  }

  #predicate(): Expr {
    const left = this.#additive();
    const t = this.#peek();
    if (t.kind === 'punct' && COMPARISON.has(t.punct)) {
      this.#next();
      const op = t.punct as ComparisonOperator;
      const right = this.#additive();
      if (op !== '=' && op !== '<>') {
        this.#orderedOperand(op, left);
        this.#orderedOperand(op, right);
      }
      const after = this.#peek();
      // SQL-92 has no chained comparison ('a = b = c'); ActiveMQ would read it as '(a = b) = c',
      // which is almost always a mistake. Parentheses make the intent explicit.
      if (after.kind === 'punct' && COMPARISON.has(after.punct)) throw this.#unexpected(after);
      return { type: 'comparison', op, left, right, pos: left.pos };
    }
    if (t.kind !== 'keyword') return left;
    switch (t.keyword) {
      case 'NOT': {
        this.#next();
        const k = this.#peek();
        if (k.kind === 'keyword' && (k.keyword === 'BETWEEN' || k.keyword === 'IN' || k.keyword === 'LIKE')) {
          return this.#negatable(left, true);
        }
        throw this.#expected('Expected BETWEEN, IN or LIKE after NOT', k);
      }
      case 'BETWEEN':
      case 'IN':
      case 'LIKE':
        return this.#negatable(left, false);
      case 'IS': {
        this.#next();
        const negated = this.#isKeyword('NOT');
        if (negated) this.#next();
        const n = this.#next();
        if (n.kind !== 'keyword' || n.keyword !== 'NULL') throw this.#expected(negated ? 'Expected NULL after IS NOT' : 'Expected NULL or NOT after IS', n);
        return { type: 'isNull', negated, operand: left, pos: left.pos };
      }
      default:
        return left;
    }
  }

  /** BETWEEN, IN or LIKE, the current token being the keyword. */
  #negatable(left: Expr, negated: boolean): Expr {
    const k = this.#next();
    const operand = this.#valueOperand(left);
    const pos = left.pos;
    if (k.kind === 'keyword' && k.keyword === 'BETWEEN') {
      // BETWEEN is two ordering comparisons (JMS 1.1: "age BETWEEN 15 AND 19" is "age >= 15 AND age <= 19").
      this.#orderedOperand('BETWEEN', operand);
      const low = this.#orderedOperand('BETWEEN', this.#valueOperand(this.#additive()));
      const and = this.#next();
      if (and.kind !== 'keyword' || and.keyword !== 'AND') throw this.#expected('Expected AND in BETWEEN', and);
      const high = this.#orderedOperand('BETWEEN', this.#valueOperand(this.#additive()));
      return { type: 'between', negated, operand, low, high, pos };
    }
    if (k.kind === 'keyword' && k.keyword === 'IN') return { type: 'in', negated, operand, values: this.#inList(), pos };
    return { type: 'like', negated, operand, pattern: this.#likePattern(), pos };
  }

  #inList(): (string | number)[] {
    const open = this.#next();
    if (open.kind !== 'punct' || open.punct !== '(') throw this.#expected("Expected '(' after IN", open);
    const values: (string | number)[] = [];
    for (;;) {
      values.push(this.#inListLiteral());
      const t = this.#next();
      if (t.kind === 'punct' && t.punct === ')') return values;
      if (t.kind !== 'punct' || t.punct !== ',') throw this.#expected("Expected ',' or ')' in IN list", t);
    }
  }

  /** JMS allows only string literals in an IN list; like ActiveMQ we also take (signed) numbers. */
  #inListLiteral(): string | number {
    const t = this.#next();
    if (t.kind === 'string' || t.kind === 'number') return t.value;
    if (t.kind === 'punct' && (t.punct === '-' || t.punct === '+')) {
      const n = this.#next();
      if (n.kind === 'number') return t.punct === '-' ? -n.value : n.value;
      throw this.#expected('Expected a number after the sign in IN list', n);
    }
    throw this.#expected('Expected a string or numeric literal in IN list', t);
  }

  #likePattern(): LikePattern {
    const p = this.#next();
    if (p.kind !== 'string') throw this.#expected('Expected a string literal after LIKE', p);
    // Every LIKE reads the whole value once (linear, but n LIKEs are n scans): bounded per selector.
    if (++this.likes > this.#maxLikes) {
      throw new SelectorError(`Selector has more than ${this.#maxLikes} LIKE predicates`, p.pos, 'ERR_SELECTOR_TOO_COMPLEX');
    }
    let escape: string | undefined;
    if (this.#isKeyword('ESCAPE')) {
      this.#next();
      const e = this.#next();
      if (e.kind !== 'string') throw this.#expected('Expected a string literal after ESCAPE', e);
      const cp = e.value.codePointAt(0);
      if (cp === undefined || e.value.length !== (cp > 0xffff ? 2 : 1)) {
        throw this.#error('ESCAPE must be a single character', e.pos);
      }
      escape = e.value;
    }
    try {
      // The budget of `_` stretches is the selector's (issue 11: fifteen OR'd LIKEs each within a
      // per-pattern limit cost fifteen times one), so each pattern gets only what is left of it.
      const pattern = compileLikePattern(p.value, escape, this.#maxLikeSegment - this.#wildcardUsed);
      this.#wildcardUsed += pattern.wildcardLength;
      return pattern;
    } catch (err) {
      if (err instanceof LikePatternError) {
        if (err.kind === 'tooComplex') {
          const total = this.#wildcardUsed + err.wildcardLength;
          const message = this.#wildcardUsed === 0 ? err.message : `LIKE patterns have ${total} characters with '_' between two '%' (at most ${this.#maxLikeSegment} in one selector)`;
          throw new SelectorError(message, p.pos, 'ERR_SELECTOR_TOO_COMPLEX');
        }
        throw new SelectorError(err.message, p.pos, 'ERR_SELECTOR_SYNTAX');
      }
      throw err;
    }
  }

  #additive(): Expr {
    const first = this.#multiplicative();
    if (!this.#isPunct('+') && !this.#isPunct('-')) return first;
    const operands = [this.#numericOperand(first)];
    const ops: ArithmeticOperator[] = [];
    for (let t = this.#peek(); t.kind === 'punct' && (t.punct === '+' || t.punct === '-'); t = this.#peek()) {
      this.#next();
      ops.push(t.punct);
      operands.push(this.#numericOperand(this.#multiplicative()));
    }
    return { type: 'arithmetic', operands, ops, pos: first.pos };
  }

  #multiplicative(): Expr {
    const first = this.#unary();
    if (!this.#isPunct('*') && !this.#isPunct('/')) return first;
    const operands = [this.#numericOperand(first)];
    const ops: ArithmeticOperator[] = [];
    for (let t = this.#peek(); t.kind === 'punct' && (t.punct === '*' || t.punct === '/'); t = this.#peek()) {
      this.#next();
      ops.push(t.punct);
      operands.push(this.#numericOperand(this.#unary()));
    }
    return { type: 'arithmetic', operands, ops, pos: first.pos };
  }

  #unary(): Expr {
    const t = this.#peek();
    if (t.kind !== 'punct' || (t.punct !== '+' && t.punct !== '-')) return this.#primary();
    this.#next();
    this.#enter(t.pos);
    const operand = this.#numericOperand(this.#unary());
    this.#leave();
    const op = t.punct;
    // Fold signed numeric literals so '-5' is a constant, not an operation per message.
    if (operand.type === 'literal' && typeof operand.value === 'number') {
      return { type: 'literal', value: op === '-' ? -operand.value : operand.value, approximate: operand.approximate === true, pos: t.pos };
    }
    return { type: 'unary', op, operand, pos: t.pos };
  }

  #primary(): Expr {
    const t = this.#next();
    switch (t.kind) {
      case 'string':
        return { type: 'literal', value: t.value, pos: t.pos };
      case 'number':
        return { type: 'literal', value: t.value, approximate: t.approximate, pos: t.pos };
      case 'identifier':
        return { type: 'identifier', name: t.name, pos: t.pos };
      case 'keyword':
        if (t.keyword === 'TRUE' || t.keyword === 'FALSE') return { type: 'literal', value: t.keyword === 'TRUE', pos: t.pos };
        if (t.keyword === 'NULL') return { type: 'literal', value: null, pos: t.pos };
        throw this.#unexpected(t);
      case 'punct': {
        if (t.punct !== '(') throw this.#unexpected(t);
        this.#enter(t.pos);
        const inner = this.#or();
        this.#leave();
        const close = this.#next();
        if (close.kind !== 'punct' || close.punct !== ')') {
          throw this.#expected("Expected ')'", close);
        }
        // Keep the '(' position so errors about the group point at its start.
        return { ...inner, pos: t.pos };
      }
      default:
        throw this.#unexpected(t);
    }
  }
}
