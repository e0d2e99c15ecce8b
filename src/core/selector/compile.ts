import { JunctionError, SelectorError } from '../../errors.ts';
import { buildEvaluator } from './evaluate.ts';
import { DEFAULT_MAX_LIKE_SEGMENT } from './like.ts';
import { parseSelector } from './parser.ts';
import type { Selector, SelectorLimits } from './types.ts';

/** Limits applied when {@link compileSelector} is given none (the config schema's defaults). */
export const DEFAULT_SELECTOR_LIMITS: Readonly<Required<SelectorLimits>> = Object.freeze({
  maxLength: 4096,
  maxDepth: 64,
  maxLikeSegment: DEFAULT_MAX_LIKE_SEGMENT,
  maxLikes: 16,
  maxLikeValueLength: 65_536,
});

/**
 * Hard ceiling on `maxDepth`: the parser recurses about eight frames per nesting level, and a
 * larger configured value must still never overflow the JavaScript stack.
 */
export const MAX_SELECTOR_DEPTH = 256;

const MATCH_ALL = (): boolean => true;

function limit(name: keyof SelectorLimits, value: number | undefined): number {
  const v = value ?? DEFAULT_SELECTOR_LIMITS[name];
  if (!Number.isSafeInteger(v) || v < 1) {
    throw new JunctionError('ERR_CONFIG_INVALID', `selector ${name} must be a positive integer, got ${String(value)}`);
  }
  return v;
}

/**
 * Compiles a JMS 1.1 message selector (the SQL-92 conditional-expression subset of JMS 1.1
 * §3.8.1) once; the returned {@link Selector} evaluates messages without re-parsing.
 *
 * - An empty or all-whitespace selector matches every message (STOMP clients send `selector:`
 *   with an empty value to mean "no selector").
 * - Identifiers are case-sensitive and resolved per message through the resolver; `undefined`
 *   and `null` both mean SQL NULL. Keywords are case-insensitive.
 * - Three-valued logic: `matches` is true only when the selector is TRUE, never for UNKNOWN.
 * - ActiveMQ Classic compatibility (docs/selectors.md): a string compared with a number or a
 *   boolean converts to that type as ActiveMQ's STOMP transport does (`level > 4` matches the
 *   STOMP header `level:10`; integer parsing against an exact number, so `'3.5'` does not convert
 *   to compare with `5`); a string that does not convert makes that comparison FALSE, not UNKNOWN;
 *   `<`, `<=`, `>`, `>=` and BETWEEN refuse string, boolean and NULL literals; identifiers may
 *   contain dots; numeric literals may be hex (`0x1F`), octal (`017`) or carry an `L` suffix; IN
 *   lists may hold numbers. Arithmetic follows JMS 1.1 (Java promotion): two exact numerics give an
 *   exact result (`7 / 2` is 3), an approximate one makes it double (`7.0 / 2` is 3.5); integers
 *   beyond 2^53 lose precision; an exact division by zero is UNKNOWN, an approximate one ±Infinity.
 *
 * @param text The selector, at most `limits.maxLength` characters.
 * @param limits `maxLength` (default 4096), `maxDepth` (default 64: nesting of parentheses,
 *   NOT and unary signs; values above {@link MAX_SELECTOR_DEPTH} are clamped to it),
 *   `maxLikeSegment` (default 256: the stretches with `_` between two `%` of all LIKE patterns of
 *   the selector may total no more), `maxLikes` (default 16 LIKE predicates) and
 *   `maxLikeValueLength` (default 65,536: characters all LIKEs of one selector may read per
 *   message; each of k LIKEs is UNKNOWN against a string longer than ⌊maxLikeValueLength / k⌋).
 * @throws SelectorError `ERR_SELECTOR_SYNTAX` with the 0-based `position` of the offending token,
 *   or `ERR_SELECTOR_TOO_COMPLEX` when a limit is exceeded.
 * @throws JunctionError `ERR_CONFIG_INVALID` when a limit is not a positive integer.
 * @example
 * const s = compileSelector("JMSPriority > 4 AND region LIKE 'eu-%'");
 * const props = new Map<string, SelectorValue>([['JMSPriority', 7], ['region', 'eu-west']]);
 * s.matches((name) => props.get(name)); // true
 * @see JMS 1.1 specification, section 3.8.1 'Message Selectors'
 */
export function compileSelector(text: string, limits: SelectorLimits = {}): Selector {
  const maxLength = limit('maxLength', limits.maxLength);
  const maxDepth = Math.min(limit('maxDepth', limits.maxDepth), MAX_SELECTOR_DEPTH);
  if (text.length > maxLength) {
    throw new SelectorError(`Selector is longer than the maximum of ${maxLength} characters`, maxLength, 'ERR_SELECTOR_TOO_COMPLEX');
  }
  const maxLikeSegment = limit('maxLikeSegment', limits.maxLikeSegment);
  const maxLikes = limit('maxLikes', limits.maxLikes);
  const maxLikeValueLength = limit('maxLikeValueLength', limits.maxLikeValueLength);
  const { expr: ast, likes } = parseSelector(text, { maxDepth, maxLikeSegment, maxLikes });
  if (ast === undefined) return Object.freeze({ text, matches: MATCH_ALL });
  // The value limit is the selector's: k LIKEs share it, so one evaluation reads at most
  // maxLikeValueLength characters in all LIKEs whatever their number (issue 11: fifteen OR'd LIKEs
  // against one long property were fifteen full scans per subscriber).
  const evaluate = buildEvaluator(ast, { maxLikeValueLength: Math.max(1, Math.floor(maxLikeValueLength / Math.max(1, likes))) });
  const selector: Selector = { text, matches: (resolve) => evaluate(resolve) === true };
  return Object.freeze(selector);
}
