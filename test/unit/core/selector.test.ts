import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { JunctionError, SelectorError } from '../../../src/errors.ts';
import { compileSelector, MAX_SELECTOR_DEPTH, type SelectorResolver, type SelectorValue } from '../../../src/core/selector/index.ts';

/** The fixed sample message every table row is evaluated against. */
const MESSAGE = new Map<string, SelectorValue>([
  // JMS headers, as the broker's resolver maps them
  ['JMSPriority', 4],
  ['JMSMessageID', 'ID:junction-1:1:7'],
  ['JMSTimestamp', 1_700_000_000_000],
  ['JMSCorrelationID', 'corr-42'],
  ['JMSType', 'order.created'],
  ['JMSDeliveryMode', 'PERSISTENT'],
  // strings
  ['color', 'red'],
  ['name', "O'Brien"],
  ['empty', ''],
  ['path', 'a%b_c'],
  ['unicode', 'héllo'],
  ['emoji', '😀x'],
  // numbers
  ['count', 10],
  ['negative', -5],
  ['zero', 0],
  ['price', 12.5],
  ['ratio', 0.25],
  // booleans
  ['active', true],
  ['archived', false],
  // numeric strings, as every STOMP header is
  ['level', '10'],
  ['fraction', '2.5'],
  ['notNumber', 'abc'],
  // explicit nulls
  ['nothing', null],
  ['undef', undefined],
  // identifier shapes
  ['my.prop', 'dotted'],
  ['$dollar', 'd'],
  ['_under', 'u'],
  ['notes', 'n'],
  ['island', 'i'],
]);

const resolve: SelectorResolver = (name) => MESSAGE.get(name);

const T = 'TRUE';
const F = 'FALSE';
const U = 'UNKNOWN';
type Expected = typeof T | typeof F | typeof U;

/**
 * Each row is checked twice: the selector matches only when TRUE, and `NOT (selector)` matches only
 * when FALSE. That tells UNKNOWN (neither matches) apart from FALSE.
 */
const CASES: ReadonlyArray<readonly [string, Expected]> = [
  // --- literals and plain comparisons ---
  ["color = 'red'", T],
  ["color = 'blue'", F],
  ["color <> 'blue'", T],
  ["color <> 'red'", F],
  ["color = 'RED'", F],
  ["name = 'O''Brien'", T],
  ["empty = ''", T],
  ['count = 10', T],
  ['count = 10.0', T],
  ['count > 9.5', T],
  ['count >= 10', T],
  ['count < 10', F],
  ['count <= 10', T],
  ['count <> 10', F],
  ['price = 12.5', T],
  ['price > 12', T],
  ['ratio = .25', T],
  ['ratio = 2.5E-1', T],
  ['count = 1e1', T],
  ['count = 1E+1', T],
  ['count = 0xA', T],
  ['count = 012', T],
  ['count = 10L', T],
  ['count = 10.', T],
  ['negative = -5', T],
  ['negative < zero', T],
  ['zero = 0', T],
  ['zero = -0', T],
  ['4 < count', T],
  ['active = TRUE', T],
  ['active = FALSE', F],
  ['active <> FALSE', T],
  ['archived = FALSE', T],
  ['active', T],
  ['archived', F],
  ['active = archived', F],
  ['TRUE', T],
  ['FALSE', F],
  ['(count > 5) = TRUE', T],
  ['(count > 5) <> active', F],
  // --- two string values order like Java's compareTo (ActiveMQ); a string literal cannot (see INVALID) ---
  ['color > name', T],
  ['color < name', F],
  ['color BETWEEN name AND emoji', T],
  // --- JMS headers ---
  ['JMSPriority = 4', T],
  ['JMSPriority > 4', F],
  ['JMSPriority BETWEEN 0 AND 9', T],
  ["JMSType = 'order.created'", T],
  ["JMSCorrelationID = 'corr-42'", T],
  ["JMSDeliveryMode = 'PERSISTENT'", T],
  ["JMSDeliveryMode = 'NON_PERSISTENT'", F],
  ["JMSMessageID LIKE 'ID:%'", T],
  ['JMSTimestamp > 1600000000000', T],
  ['JMSTimestamp IS NOT NULL', T],
  // --- a string against a number converts to the number's type (ActiveMQ over STOMP, issue 12) ---
  ['level > 4', T],
  ['level = 10', T],
  ['level = 10.0', T],
  ['level < 4', F],
  ['level <> 10', F],
  ['4 < level', T],
  ['level BETWEEN 5 AND 15', T],
  ['level NOT BETWEEN 5 AND 15', F],
  ['level + 1 = 11', T],
  ['level * 2 = 20', T],
  ['-level = -10', T],
  ['fraction > 2', F], // exact literal: integer parsing refuses '2.5', so the comparison is FALSE
  ['fraction > 2.0', T],
  ['fraction * 2 = 5', T],
  ["count = '10'", T],
  ["level = '10'", T],
  ["level = '10.0'", F],
  ["fraction = '2.5'", T],
  ['level IN (10, 20)', T],
  ["count IN ('10', '20')", T],
  // a string that does not convert makes that comparison FALSE, not UNKNOWN (ActiveMQ)
  ['notNumber > 4', F],
  ['notNumber = 0', F],
  ['notNumber <> 0', T],
  ['notNumber + 1 = 1', U],
  ["count = 'ten'", F],
  ['color = 1', F],
  // --- a string against TRUE/FALSE converts as Java's Boolean.valueOf; a number against a boolean is FALSE ---
  ["active = 'true'", T],
  ["active = 'TRUE'", T],
  ["archived = 'yes'", T],
  ['active = 1', F],
  ['active <> 1', T],
  ['color = TRUE', F],
  ['color = FALSE', T],
  ['count = TRUE', F],
  ['active > archived', U],
  ['active + 1 = 2', U],
  ["count LIKE '1%'", U],
  ["active LIKE 't%'", U],
  ['color', U],
  ['count', U],
  // --- arithmetic and its precedence ---
  ['count + 2 * 3 = 16', T],
  ['(count + 2) * 3 = 36', T],
  ['count - 2 - 3 = 5', T],
  ['count - (2 - 3) = 11', T],
  ['count / 4 = 2', T], // two exact numerics: integer division (JMS 1.1, Java promotion)
  ['count / 4 = 2.5', F],
  ['count / 4 * 2 = 4', T],
  ['count / (4 * 2) = 1', T],
  ['count / 4.0 = 2.5', T],
  ['count / 4.0 * 2 = 5', T],
  ['count / (4 * 2.0) = 1.25', T],
  ['price / 5 = 2.5', T],
  ['2 + 3 * 4 - 6 / 2 = 11', T],
  ['7 - 2 * 3 = 1', T],
  ['-count = -10', T],
  ['- -count = 10', T],
  ['+count = 10', T],
  ['count * -1 = negative * 2', T],
  ['-(count + negative) = -5', T],
  ['count + price = 22.5', T],
  ['count / 3 = 3', T],
  ['count / 3.0 > 3.33', T],
  ['count > 5 + 4', T],
  ['count / zero = 1', U],
  ['count / 0 > 0', U],
  ['0 / 0 = 0', U],
  ['0.0 / 0 = 0', U], // NaN
  ['count / 0.0 > 1000000', T], // double division: +Infinity, as Java
  ['negative / 0.0 < -1000000', T],
  // --- NULL: unknown properties, explicit nulls, the NULL literal ---
  ['missing = 1', U],
  ['missing <> 1', U],
  ["missing = 'x'", U],
  ['missing > 0', U],
  ['nothing = 1', U],
  ['undef = 1', U],
  ['nothing IS NULL', T],
  ['nothing IS NOT NULL', F],
  ['undef IS NULL', T],
  ['missing IS NULL', T],
  ['missing IS NOT NULL', F],
  ['color IS NULL', F],
  ['color IS NOT NULL', T],
  ['empty IS NULL', F],
  ['zero IS NULL', F],
  ['archived IS NULL', F],
  ['missing + 1 = 1', U],
  ['missing * 0 = 0', U],
  ['-missing = 0', U],
  ['missing BETWEEN 1 AND 2', U],
  ['missing NOT BETWEEN 1 AND 2', U],
  ["missing IN ('a', 'b')", U],
  ["missing NOT IN ('a', 'b')", U],
  ["missing LIKE '%'", U],
  ["missing NOT LIKE '%'", U],
  ["nothing LIKE 'x'", U],
  ["Color = 'red'", U],
  ['COLOR IS NULL', T],
  ['missing = missing', U],
  ['NULL = NULL', U],
  ['NULL IS NULL', T],
  ['count = NULL', U],
  ['count + NULL = 10', U],
  ['(missing = 1) IS NULL', T],
  ['missing', U],
  ['NULL', U],
  // --- three-valued AND / OR / NOT ---
  ['missing = 1 AND count = 10', U],
  ['missing = 1 AND count = 11', F],
  ['count = 11 AND missing = 1', F],
  ['missing = 1 OR count = 10', T],
  ['count = 10 OR missing = 1', T],
  ['missing = 1 OR count = 11', U],
  ['missing = 1 OR missing = 2', U],
  ['missing = 1 AND missing = 2', U],
  ['NOT missing = 1', U],
  ['NOT NOT missing = 1', U],
  ['TRUE AND missing = 1', U],
  ['FALSE AND missing = 1', F],
  ['TRUE OR missing = 1', T],
  ['FALSE OR missing = 1', U],
  ['(missing = 1 OR TRUE) AND (missing = 2 OR count = 10)', T],
  ['NOT (missing = 1 AND FALSE)', T],
  ['NOT (missing = 1 OR TRUE)', F],
  ['missing IS NULL AND count = 10', T],
  ["color = 'red' AND count = 10 AND active", T],
  ["color = 'red' AND count = 10 AND archived", F],
  ["color = 'blue' OR count = 11 OR archived", F],
  ["color = 'blue' OR count = 11 OR active", T],
  ['active AND missing', U],
  ['archived OR missing', U],
  // --- logical precedence: NOT > AND > OR ---
  ['count = 10 OR count = 11 AND archived', T],
  ['(count = 10 OR count = 11) AND archived', F],
  ['NOT count = 11 AND active', T],
  ['NOT (count = 10) OR active', T],
  ['NOT active OR archived', F],
  ['NOT archived AND NOT archived', T],
  ['NOT NOT active', T],
  // --- BETWEEN ---
  ['count BETWEEN 5 AND 15', T],
  ['count BETWEEN 10 AND 10', T],
  ['count BETWEEN 11 AND 20', F],
  ['count NOT BETWEEN 11 AND 20', T],
  ['count NOT BETWEEN 5 AND 15', F],
  ['price BETWEEN 12 AND 13', T],
  ['count BETWEEN 15 AND 5', F],
  ['count BETWEEN 2 * 4 AND count + 1', T],
  ['count BETWEEN missing AND 5', F],
  ['count BETWEEN missing AND 15', U],
  ["count BETWEEN 5 AND 15 AND color = 'red'", T],
  ['negative BETWEEN -10 AND -1', T],
  ['color BETWEEN 1 AND 2', F],
  ['color NOT BETWEEN 1 AND 2', F],
  ['active BETWEEN 1 AND 2', F],
  // --- IN / NOT IN ---
  ["color IN ('red', 'green')", T],
  ["color IN ('green', 'blue')", F],
  ["color NOT IN ('green', 'blue')", T],
  ["color NOT IN ('red')", F],
  ["color IN ('RED')", F],
  ["name IN ('O''Brien')", T],
  ["empty IN ('')", T],
  ['count IN (1, 10, 100)', T],
  ['count IN (1, 2)', F],
  ['count NOT IN (1, 2)', T],
  ['negative IN (-5, 5)', T],
  ['price IN (12.5)', T],
  ["count IN ('a', 'b')", U],
  ['color IN (1, 2)', U],
  ["color IN ('red', 1)", T],
  ["active IN ('true')", U],
  ["JMSType IN ('order.created', 'order.deleted')", T],
  // --- LIKE: _ is one character, % any sequence, ESCAPE makes them literal ---
  ["color LIKE 'red'", T],
  ["color LIKE 'r%'", T],
  ["color LIKE '%d'", T],
  ["color LIKE '%e%'", T],
  ["color LIKE 'r_d'", T],
  ["color LIKE 'r_'", F],
  ["color LIKE '___'", T],
  ["color LIKE '____'", F],
  ["color LIKE '%'", T],
  ["empty LIKE '%'", T],
  ["empty LIKE '_'", F],
  ["color LIKE 'R%'", F],
  ["color NOT LIKE 'b%'", T],
  ["color NOT LIKE 'r%'", F],
  ["path LIKE 'a\\%b\\_c' ESCAPE '\\'", T],
  ["path LIKE 'a!%b!_c' ESCAPE '!'", T],
  ["path LIKE 'a!%%' ESCAPE '!'", T],
  ["color LIKE 'r!%' ESCAPE '!'", F],
  ["path LIKE '%!_%' ESCAPE '!'", T],
  ["color LIKE '%!_%' ESCAPE '!'", F],
  ["path LIKE 'a!!%' ESCAPE '!'", F],
  ["path LIKE 'a%b%c'", T],
  ["path LIKE 'a_b_c'", T],
  ["name LIKE 'O''%'", T],
  ["unicode LIKE 'h_llo'", T],
  ["emoji LIKE '_x'", T],
  ["emoji LIKE '__x'", F],
  ["level LIKE '1_'", T],
  ["my.prop LIKE 'dot%'", T],
  ["JMSMessageID LIKE 'ID:%:_:7'", T],
  // --- keywords are case-insensitive ---
  ["color = 'red' and count = 10", T],
  ["color = 'red' AnD NoT archived", T],
  ['count between 5 and 15', T],
  ['count not between 5 and 15', F],
  ["color in ('red')", T],
  ["color not in ('red')", F],
  ["color like 'r%'", T],
  ["color not like 'r%'", F],
  ["path like 'a!%%' escape '!'", T],
  ['nothing is null', T],
  ['color is not null', T],
  ['missing IS null', T],
  ['active = True', T],
  ['archived = fAlSe', T],
  ['count = 11 or active', T],
  ['null is null', T],
  // --- identifiers: Java identifier characters, plus ActiveMQ's dots ---
  ["$dollar = 'd'", T],
  ["_under = 'u'", T],
  ["my.prop = 'dotted'", T],
  ["notes = 'n'", T],
  ["island = 'i'", T],
  // --- whitespace ---
  ['  count\t=\n10  ', T],
  ['count=10', T],
  ["(count=10)AND(color='red')", T],
  ['count>=10', T],
  ['count<>11', T],
];

describe('selector evaluation table', () => {
  test('the table has at least 150 cases', () => {
    assert.ok(CASES.length >= 150, `only ${CASES.length} cases`);
  });

  for (const [text, expected] of CASES) {
    test(`${text} is ${expected}`, () => {
      assert.equal(compileSelector(text).matches(resolve), expected === T, 'selector');
      assert.equal(compileSelector(`NOT (${text})`).matches(resolve), expected === F, 'negated selector');
    });
  }
});

/**
 * Issue 12: each row was run against ActiveMQ Classic 5.17 (Debian's activemq) over STOMP, the
 * properties sent as STOMP headers (so every one is a string; `priority` is `JMSPriority`, an int),
 * with the selector and `NOT (selector)` on one subscription each. The expected value is
 * Junction's; where ActiveMQ answers otherwise the comment gives its answer and why Junction differs.
 */
const ACTIVEMQ_ROWS: ReadonlyArray<readonly [string, Readonly<Record<string, SelectorValue>>, Expected]> = [
  ['x = 5', { x: '5' }, T],
  ['x = 5', { x: '+5' }, T],
  ['x = 5', { x: '-5' }, F],
  ['x = 5', { x: '3.5' }, F],
  ['x = 5', { x: '5.0' }, F],
  ['x = 5', { x: 'abc' }, F],
  ['x = 5', { x: ' 5' }, F],
  ['x = 5', { x: '5 ' }, F],
  ['x = 5', { x: '05' }, T],
  ['x = 5', { x: '0x5' }, F],
  ['x = 5', { x: '5L' }, F],
  ['x = 5', { x: '1e1' }, F],
  ['x = 5', { x: '3000000000' }, F],
  ['x = 5', { x: '2147483647' }, F],
  ['x = 5', { x: '2147483648' }, F],
  ['x = 5', { x: '' }, F],
  ['x = 5', { x: '\u0661\u0662' }, F],
  ['x <> 10', { x: 'abc' }, T],
  ['x > 5', { x: 'abc' }, F],
  ['NOT (x > 5)', { x: 'abc' }, T],
  ['x NOT BETWEEN 5 AND 10', { x: 'abc' }, F],
  ['x BETWEEN 5 AND 10', { x: 'abc' }, F],
  ['x <> 10', { x: '10' }, F],
  ['x > 5', { x: '10' }, T],
  ['NOT (x > 5)', { x: '10' }, F],
  ['x NOT BETWEEN 5 AND 10', { x: '10' }, F],
  ['x BETWEEN 5 AND 10', { x: '10' }, T],
  ['x <> 10', { x: '3.5' }, T],
  ['x > 5', { x: '3.5' }, F],
  ['NOT (x > 5)', { x: '3.5' }, T],
  ['x NOT BETWEEN 5 AND 10', { x: '3.5' }, F],
  ['x BETWEEN 5 AND 10', { x: '3.5' }, F],
  ['x <> 10', { x: '+10' }, F],
  ['x > 5', { x: '+10' }, T],
  ['NOT (x > 5)', { x: '+10' }, F],
  ['x NOT BETWEEN 5 AND 10', { x: '+10' }, F],
  ['x BETWEEN 5 AND 10', { x: '+10' }, T],
  ['x NOT BETWEEN 5 AND 10', { x: '3.5' }, F],
  ['x = 3000000000', { x: '3000000000' }, T],
  ['x > 2147483647', { x: '3000000000' }, F],
  ['x < 5', { x: '3.5' }, F],
  ['x < 5.0', { x: '3.5' }, T],
  ['x = 3.4', { x: '3.4' }, T],
  ['x = 1.5E1', { x: '3.4' }, F],
  ['x = 3.4', { x: '3' }, F],
  ['x = 1.5E1', { x: '3' }, F],
  ['x = 3.4', { x: '+3.4' }, T],
  ['x = 1.5E1', { x: '+3.4' }, F],
  ['x = 3.4', { x: 'abc' }, F],
  ['x = 1.5E1', { x: 'abc' }, F],
  ['x = 3.4', { x: ' 3.4' }, T],
  ['x = 1.5E1', { x: ' 3.4' }, F],
  ['x = 3.4', { x: '3.4d' }, T],
  ['x = 1.5E1', { x: '3.4d' }, F],
  ['x = 3.4', { x: '3.4f' }, T],
  ['x = 1.5E1', { x: '3.4f' }, F],
  ['x = 3.4', { x: '0x1p3' }, F],
  ['x = 1.5E1', { x: '0x1p3' }, F],
  ['x = 3.4', { x: 'NaN' }, F],
  ['x = 1.5E1', { x: 'NaN' }, F],
  ['x = 3.4', { x: 'Infinity' }, F],
  ['x = 1.5E1', { x: 'Infinity' }, F],
  ['x = 3.4', { x: '1.5E1' }, F],
  ['x = 1.5E1', { x: '1.5E1' }, T],
  ['x = 3.4', { x: '15' }, F],
  ['x = 1.5E1', { x: '15' }, T],
  ['x = 8.0', { x: '0x1p3' }, T],
  ['x > 1.0', { x: 'Infinity' }, T],
  ['x <> 1.0', { x: 'NaN' }, T],
  ['x > 1.0', { x: 'NaN' }, T], // Double.compareTo: NaN is above every number
  ['x < 1.0', { x: 'NaN' }, F],
  ['x < 1.0', { x: '-Infinity' }, T],
  ['x = 0.0', { x: '-0' }, F], // Double.compareTo: -0.0 is below 0.0
  ['x = 0', { x: '-0' }, T],
  ['x = 2.0', { x: '2.' }, T],
  ['x = 2.0', { x: '.2e1' }, T],
  ['x = 5.0', { x: "5.0\t" }, T],
  ['x = 5', { x: '\u0665' }, T], // Java's Character.digit reads any BMP decimal digit
  ['x = 12', { x: '\u0661\u0662' }, T],
  ['JMSTimestamp > x', { JMSTimestamp: 1_700_000_000_000, x: '1' }, T],
  ['JMSTimestamp > x', { JMSTimestamp: 1_700_000_000_000, x: '1.5' }, F],
  ['x = TRUE', { x: 'true' }, T],
  ['x = FALSE', { x: 'true' }, F],
  ['x <> TRUE', { x: 'true' }, F],
  ['x = TRUE', { x: 'TRUE' }, T],
  ['x = FALSE', { x: 'TRUE' }, F],
  ['x <> TRUE', { x: 'TRUE' }, F],
  ['x = TRUE', { x: 'True' }, T],
  ['x = FALSE', { x: 'True' }, F],
  ['x <> TRUE', { x: 'True' }, F],
  ['x = TRUE', { x: 'false' }, F],
  ['x = FALSE', { x: 'false' }, T],
  ['x <> TRUE', { x: 'false' }, T],
  ['x = TRUE', { x: 'FALSE' }, F],
  ['x = FALSE', { x: 'FALSE' }, T],
  ['x <> TRUE', { x: 'FALSE' }, T],
  ['x = TRUE', { x: 'abc' }, F],
  ['x = FALSE', { x: 'abc' }, T],
  ['x <> TRUE', { x: 'abc' }, T],
  ['x = TRUE', { x: '1' }, F],
  ['x = FALSE', { x: '1' }, T],
  ['x <> TRUE', { x: '1' }, T],
  ['x = TRUE', { x: '' }, F],
  ['x = FALSE', { x: '' }, T],
  ['x <> TRUE', { x: '' }, T],
  ['x = TRUE', { x: 'yes' }, F],
  ['x = FALSE', { x: 'yes' }, T],
  ['x <> TRUE', { x: 'yes' }, T],
  ['5 = x', { x: '+5' }, T],
  ['10 <> x', { x: 'abc' }, T],
  ['TRUE = x', { x: 'true' }, T], // ActiveMQ: U (ClassCastException: a boolean left of a string); Junction converts on either side
  ["JMSPriority = '4'", { JMSPriority: 4 }, T],
  ['JMSPriority = x', { JMSPriority: 4, x: '4' }, T],
  ['JMSPriority = x', { JMSPriority: 4, x: 'abc' }, F],
  ['JMSPriority <> x', { JMSPriority: 4, x: 'abc' }, T],
  ['JMSPriority = TRUE', { JMSPriority: 4 }, F],
  ['JMSPriority <> TRUE', { JMSPriority: 4 }, T],
  ["x = 'abc'", { x: 'abc' }, T],
  ['x IN (5, 6)', { x: '5' }, T], // ActiveMQ: ERROR (IN holds string literals and tests string values only); a Junction extension, not issue 12
  ["x IN ('5', '6')", { x: '5' }, T],
  ["JMSPriority IN ('4')", { JMSPriority: 4 }, T], // ActiveMQ: U (IN holds string literals and tests string values only); a Junction extension, not issue 12
  ["JMSCorrelationID = ''", { JMSCorrelationID: '' }, T],
  ['JMSCorrelationID IS NULL', { JMSCorrelationID: '' }, F],
  ['JMSCorrelationID IS NOT NULL', { JMSCorrelationID: '' }, T],
  ["x = ''", { x: '' }, T],
  ['x IS NULL', { x: '' }, F],
  ["JMSType = ''", { JMSType: '' }, T],
  ['JMSType IS NULL', { JMSType: '' }, F],
  ['JMSXGroupID IS NULL', { JMSXGroupID: '' }, F],
  ["JMSXGroupID = ''", { JMSXGroupID: '' }, T],
  ['JMSCorrelationID IS NULL', {}, T],
  ['7 / 2 = 3', {}, T], // ActiveMQ: F (divides in double); JMS 1.1 integer arithmetic (issue 12 item 4)
  ['7 / 2 = 3.5', {}, F], // ActiveMQ: T (divides in double); JMS 1.1 integer arithmetic (issue 12 item 4)
  ['JMSPriority / 2 = 2', { JMSPriority: 5 }, T], // ActiveMQ: F (divides in double); JMS 1.1 integer arithmetic (issue 12 item 4)
  ['JMSPriority / 2 = 2.5', { JMSPriority: 5 }, F], // ActiveMQ: T (divides in double); JMS 1.1 integer arithmetic (issue 12 item 4)
  ['7.0 / 2 = 3.5', {}, T],
  ['-7 / 2 = -3', {}, T], // ActiveMQ: F (divides in double); JMS 1.1 integer arithmetic (issue 12 item 4)
  ['-7 / 2 = -3.5', {}, F], // ActiveMQ: T (divides in double); JMS 1.1 integer arithmetic (issue 12 item 4)
  ['2147483647 + 1 > 0', {}, T], // ActiveMQ: F (Integer arithmetic wraps at 32 bits); exact numerics are JMS longs here
  ['2147483647 + 1 < 0', {}, F], // ActiveMQ: T (Integer arithmetic wraps at 32 bits); exact numerics are JMS longs here
  ['x + 1 = 6', { x: '5' }, T], // ActiveMQ: F ('+' concatenates a string, '*' and '/' fail); numeric strings compute as numbers here
  ['x / 2 = 2', { x: '5' }, T], // ActiveMQ: U ('+' concatenates a string, '*' and '/' fail); numeric strings compute as numbers here
  ['x * 2 = 10', { x: '5' }, T], // ActiveMQ: U ('+' concatenates a string, '*' and '/' fail); numeric strings compute as numbers here
  ['7 / 0 = 0', {}, U], // ActiveMQ: F (double division: Infinity); Java's integer division by zero throws
  ['7.0 / 0 > 0', {}, T],
  ['JMSPriority / 0 = 1', { JMSPriority: 5 }, U], // ActiveMQ: F (double division: Infinity); Java's integer division by zero throws
  ['JMSPriority * 2 = 10', { JMSPriority: 5 }, T],
];

describe('selector rows checked against ActiveMQ Classic over STOMP (issue 12)', () => {
  for (const [text, props, expected] of ACTIVEMQ_ROWS) {
    test(`${text} with ${JSON.stringify(props)} is ${expected}`, () => {
      const resolveRow: SelectorResolver = (name) => (Object.hasOwn(props, name) ? props[name] : undefined);
      assert.equal(compileSelector(text).matches(resolveRow), expected === T, 'selector');
      assert.equal(compileSelector(`NOT (${text})`).matches(resolveRow), expected === F, 'negated selector');
    });
  }
});

describe('empty selector', () => {
  for (const text of ['', '   ', '\n\t ']) {
    test(`${JSON.stringify(text)} matches every message`, () => {
      const s = compileSelector(text);
      assert.equal(s.text, text);
      assert.equal(s.matches(() => undefined), true);
    });
  }
});

describe('compiled selector', () => {
  test('keeps the original text', () => {
    assert.equal(compileSelector('count = 10').text, 'count = 10');
  });

  test('resolves identifiers per message, without re-parsing', () => {
    const s = compileSelector('count > 4');
    assert.equal(s.matches((n) => (n === 'count' ? 5 : undefined)), true);
    assert.equal(s.matches((n) => (n === 'count' ? 3 : undefined)), false);
    assert.equal(s.matches(() => null), false);
  });

  test('asks the resolver only for identifiers in the selector', () => {
    const asked: string[] = [];
    compileSelector("color = 'red' OR count IS NULL").matches((n) => {
      asked.push(n);
      return MESSAGE.get(n);
    });
    assert.deepEqual(asked, ['color']);
  });

  test('does not treat inherited object properties as message properties', () => {
    const props: Record<string, SelectorValue> = {};
    const s = compileSelector('toString IS NULL');
    assert.equal(s.matches((n) => (Object.hasOwn(props, n) ? props[n] : undefined)), true);
  });
});

/** [selector, expected position, expected code] */
const INVALID: ReadonlyArray<readonly [string, number, ('ERR_SELECTOR_SYNTAX' | 'ERR_SELECTOR_TOO_COMPLEX')?]> = [
  ['color =', 7],
  ['= 1', 0],
  ["count = 'abc", 8],
  ['(count = 10', 11],
  ['count = 10)', 10],
  ['count = 10 AND', 14],
  ["color = 'a' OR", 14],
  ['count BETWEEN 1 OR 2', 16],
  ['count BETWEEN 1', 15],
  ["color IN 'a'", 9],
  ['color IN ()', 10],
  ["color IN ('a' 'b')", 14],
  ["color IN ('a',)", 14],
  ['color IN (color)', 10],
  ["count IN (1, -'a')", 14],
  ['color LIKE 5', 11],
  ['color LIKE color', 11],
  ["color LIKE 'a' ESCAPE 'ab'", 22],
  ["color LIKE 'a' ESCAPE ''", 22],
  ["color LIKE 'a' ESCAPE", 21],
  ["color LIKE 'a!' ESCAPE '!'", 11],
  ['color IS 5', 9],
  ["color IS NOT 'x'", 13],
  ["color NOT = 'x'", 10],
  ['count = = 1', 8],
  ['count = 1 = 1', 10],
  ['count == 1', 7],
  ['count != 1', 6],
  ['color = "red"', 8],
  ['count # 1', 6],
  ['count ESCAPE', 6],
  ['5 AND active', 0],
  ["'abc'", 0],
  ['count + 1', 0],
  ['NOT 5', 4],
  ["active AND 'x'", 11],
  ["'x' + 1 = 2", 0],
  ['TRUE + 1 = 2', 0],
  ['count + (count > 1) = 2', 8],
  ['active < TRUE', 9],
  // issue 12 item 3: JMS 1.1 §3.8.1.1 restricts strings and booleans to = and <>; ActiveMQ refuses
  // each of these (and a NULL literal there) at SUBSCRIBE
  ["x < 'a'", 4],
  ["x <= 'a'", 5],
  ["x > 'a'", 4],
  ["x >= 'a'", 5],
  ["'a' < x", 0],
  ["x BETWEEN 'a' AND 'z'", 10],
  ["x BETWEEN 1 AND 'z'", 16],
  ["'a' BETWEEN 1 AND 2", 0],
  ["x NOT BETWEEN 'a' AND 'z'", 14],
  ['x < TRUE', 4],
  ['x > NULL', 4],
  ['x BETWEEN NULL AND 2', 10],
  ["x > ('a')", 4],
  ["(count > 1) LIKE 'x'", 0],
  ['count BETWEEN (count > 1) AND 5', 14],
  ['count = 1e', 8],
  ['count = 09', 8],
  ['count = 1.2.3', 8],
  ['count = 12abc', 8],
  ['count = 0x', 8],
  ['AND', 0],
  ['NOT', 3],
  ['()', 1],
  ['count = 10 count = 11', 11],
];

describe('invalid selectors', () => {
  for (const [text, position, code = 'ERR_SELECTOR_SYNTAX'] of INVALID) {
    test(`${JSON.stringify(text)} fails at position ${position}`, () => {
      assert.throws(
        () => compileSelector(text),
        (err: unknown) => {
          assert.ok(err instanceof SelectorError, `not a SelectorError: ${String(err)}`);
          assert.equal(err.code, code);
          assert.equal(err.position, position, err.message);
          assert.match(err.message, new RegExp(` at position ${position}$`));
          return true;
        },
      );
    });
  }

  test('names the unexpected token', () => {
    assert.throws(() => compileSelector('(count = 10))'), { message: "Unexpected token ')' at position 12" });
  });

  test('reports an unterminated string at its opening quote', () => {
    assert.throws(() => compileSelector("a = 'abc"), { message: 'Unterminated string literal at position 4' });
  });

  test('reports a BETWEEN without AND', () => {
    assert.throws(() => compileSelector('a BETWEEN 1 OR 2'), { message: "Expected AND in BETWEEN, found 'OR' at position 12" });
  });

  test('reports the end of the selector', () => {
    assert.throws(() => compileSelector('a ='), { message: 'Unexpected end of selector at position 3' });
  });
});

describe('limits', () => {
  const tooComplex = (position: number) => (err: unknown) => {
    assert.ok(err instanceof SelectorError, `not a SelectorError: ${String(err)}`);
    assert.equal(err.code, 'ERR_SELECTOR_TOO_COMPLEX');
    assert.equal(err.position, position, err.message);
    return true;
  };

  test('accepts a selector of exactly the default maximum length (4096)', () => {
    const text = `color = '${'x'.repeat(4096 - 10)}'`;
    assert.equal(text.length, 4096);
    assert.equal(compileSelector(text).matches(resolve), false);
  });

  test('rejects a selector longer than 4096 characters', () => {
    const text = `color = '${'x'.repeat(4096 - 9)}'`;
    assert.throws(() => compileSelector(text), tooComplex(4096));
  });

  test('honours a custom maxLength', () => {
    assert.equal(compileSelector('count = 10', { maxLength: 10 }).matches(resolve), true);
    assert.throws(() => compileSelector('count = 10 ', { maxLength: 10 }), tooComplex(10));
  });

  test('accepts 64 nested parentheses', () => {
    const text = `${'('.repeat(64)}count = 10${')'.repeat(64)}`;
    assert.equal(compileSelector(text).matches(resolve), true);
  });

  test('rejects 65 nested parentheses at the 65th', () => {
    const text = `${'('.repeat(65)}count = 10${')'.repeat(65)}`;
    assert.throws(() => compileSelector(text), tooComplex(64));
  });

  test('counts NOT towards the depth', () => {
    assert.equal(compileSelector(`${'NOT '.repeat(64)}active`).matches(resolve), true);
    assert.throws(() => compileSelector(`${'NOT '.repeat(65)}active`), tooComplex(64 * 4));
  });

  test('counts unary minus towards the depth', () => {
    assert.throws(() => compileSelector(`${'-'.repeat(65)}count = 10`), tooComplex(64));
  });

  test('honours a custom maxDepth', () => {
    assert.equal(compileSelector('((count = 10))', { maxDepth: 2 }).matches(resolve), true);
    assert.throws(() => compileSelector('(((count = 10)))', { maxDepth: 2 }), tooComplex(2));
  });

  test("100000 '(' give a clean SelectorError, not a RangeError", () => {
    const text = '('.repeat(100_000);
    assert.throws(() => compileSelector(text), tooComplex(4096));
    assert.throws(() => compileSelector(text, { maxLength: 1_000_000 }), tooComplex(64));
  });

  test(`clamps maxDepth to ${MAX_SELECTOR_DEPTH} so a huge limit cannot overflow the stack`, () => {
    const text = '('.repeat(100_000);
    assert.throws(() => compileSelector(text, { maxLength: 1_000_000, maxDepth: 1_000_000 }), tooComplex(MAX_SELECTOR_DEPTH));
  });

  test('long flat AND/OR chains are not limited by depth', () => {
    const text = `${'count = 11 OR '.repeat(20_000)}count = 10`;
    assert.equal(compileSelector(text, { maxLength: 1_000_000 }).matches(resolve), true);
  });

  test('long arithmetic chains are not limited by depth', () => {
    const text = `count${' + 1'.repeat(20_000)} = 20010`;
    assert.equal(compileSelector(text, { maxLength: 1_000_000 }).matches(resolve), true);
  });

  test('a LIKE stretch with _ longer than maxLikeSegment (default 256) is refused at the pattern', () => {
    const text = `color = 'red' AND s LIKE '%${'a'.repeat(300)}_b%'`;
    assert.throws(() => compileSelector(text), tooComplex(text.indexOf("'%")));
    assert.throws(() => compileSelector("s LIKE 'abc_'", { maxLikeSegment: 3 }), tooComplex(7));
    assert.equal(compileSelector("s LIKE 'ab_'", { maxLikeSegment: 3 }).matches(() => 'abc'), true);
    // Literal stretches are not limited: they are searched in linear time.
    assert.equal(compileSelector(`s LIKE '%${'a'.repeat(3000)}%'`).matches(() => 'a'.repeat(3001)), true);
  });

  test('LIKE against a string longer than maxLikeValueLength is UNKNOWN: neither LIKE nor NOT LIKE matches', () => {
    const long = 'x'.repeat(101);
    const like = compileSelector("s LIKE 'x%'", { maxLikeValueLength: 100 });
    const notLike = compileSelector("s NOT LIKE 'y%'", { maxLikeValueLength: 100 });
    assert.equal(like.matches(() => long), false);
    assert.equal(notLike.matches(() => long), false);
    assert.equal(like.matches(() => long.slice(1)), true);
    assert.equal(notLike.matches(() => long.slice(1)), true);
    // The default lets one LIKE read values up to 65,536 characters.
    assert.equal(compileSelector("s LIKE '%y'").matches(() => `${'x'.repeat(65_535)}y`), true);
    assert.equal(compileSelector("s LIKE '%y'").matches(() => `${'x'.repeat(65_536)}y`), false);
  });

  test('maxLikeValueLength is shared by the LIKEs of one selector: each of k reads at most 1/k of it', () => {
    const two = compileSelector("s LIKE '%y' OR t LIKE 'q%'");
    const value = (n: number) => (name: string) => (name === 's' ? `${'x'.repeat(n - 1)}y` : 'z');
    assert.equal(two.matches(value(32_768)), true);
    assert.equal(two.matches(value(32_769)), false);
    const sixteen = compileSelector(Array.from({ length: 16 }, () => "s LIKE '%y'").join(' OR '));
    assert.equal(sixteen.matches(value(4096)), true);
    assert.equal(sixteen.matches(value(4097)), false);
    assert.equal(compileSelector("s LIKE '%y' OR s LIKE '%z'", { maxLikeValueLength: 10 }).matches(value(5)), true);
    assert.equal(compileSelector("s LIKE '%y' OR s LIKE '%z'", { maxLikeValueLength: 10 }).matches(value(6)), false);
  });

  test('the maxLikeSegment budget of _ stretches is per selector, not per LIKE (issue 11)', () => {
    // The attacker's selector: 15 OR'd LIKEs, each with a 256-character stretch holding '_'.
    const like = `p LIKE '%${'a'.repeat(254)}_b%'`;
    const fifteen = Array.from({ length: 15 }, () => like).join(' OR ');
    assert.ok(fifteen.length <= 4096);
    assert.throws(() => compileSelector(fifteen), tooComplex(like.length + 4 + 7));
    assert.equal(compileSelector(like).matches(() => `${'a'.repeat(254)}xb`), true);
    // 128 + 128 fit; one more character in any pattern is refused at that pattern.
    const half = (n: number) => `p LIKE '%${'a'.repeat(n - 2)}_b%'`;
    assert.equal(compileSelector(`${half(128)} AND ${half(128)}`).matches(() => `${'a'.repeat(126)}xb`), true);
    const over = `${half(128)} AND q = 1 OR ${half(129)}`;
    assert.throws(() => compileSelector(over), tooComplex(over.lastIndexOf("'%")));
    assert.throws(() => compileSelector(over), /257 characters with '_' .*at most 256 in one selector/);
    // Every stretch holding '_' counts, in one pattern as across patterns.
    assert.throws(() => compileSelector("s LIKE 'a_%b_%c_'", { maxLikeSegment: 5 }), tooComplex(7));
    assert.equal(compileSelector("s LIKE 'a_%b_'", { maxLikeSegment: 4 }).matches(() => 'axxbx'), true);
    assert.throws(() => compileSelector("s LIKE 'a_' OR s LIKE '%b_%'", { maxLikeSegment: 3 }), tooComplex(22));
    // Literal stretches cost no budget: sixteen long literal LIKEs compile.
    const literal = Array.from({ length: 16 }, (_, i) => `p LIKE '%${'a'.repeat(200)}${i}%'`).join(' OR ');
    assert.equal(compileSelector(literal).matches(() => `${'a'.repeat(200)}15`), true);
  });

  test('at most maxLikes (default 16) LIKE predicates in one selector; the one over is refused at its pattern', () => {
    const likes = (n: number) => Array.from({ length: n }, (_, i) => `s LIKE 'v${i}%'`).join(' OR ');
    assert.equal(compileSelector(likes(16)).matches(() => 'v15x'), true);
    const seventeen = likes(17);
    assert.throws(() => compileSelector(seventeen), tooComplex(seventeen.lastIndexOf("'v16%'")));
    assert.throws(() => compileSelector(seventeen), /more than 16 LIKE predicates/);
    // NOT LIKE counts too.
    assert.throws(() => compileSelector("s LIKE 'a%' OR s NOT LIKE 'b%'", { maxLikes: 1 }), tooComplex(26));
    assert.equal(compileSelector("s LIKE 'a%' OR s NOT LIKE 'b%'", { maxLikes: 2 }).matches(() => 'c'), true);
    assert.equal(compileSelector(likes(17), { maxLikes: 17 }).matches(() => 'v16'), true);
  });

  test('a huge IN list is refused on length; one within it compiles', () => {
    const list = (n: number): string => `color IN (${Array.from({ length: n }, (_, i) => `'v${i}'`).join(',')})`;
    assert.throws(() => compileSelector(list(50_000)), tooComplex(4096));
    assert.equal(compileSelector(list(500)).matches(() => 'v499'), true);
  });

  test('rejects a limit that is not a positive integer', () => {
    for (const limits of [{ maxDepth: 0 }, { maxLength: -1 }, { maxLength: 1.5 }, { maxDepth: Number.NaN }, { maxLikeSegment: 0 }, { maxLikes: 0 }, { maxLikeValueLength: -1 }]) {
      assert.throws(() => compileSelector('a = 1', limits), (err: unknown) => err instanceof JunctionError && err.code === 'ERR_CONFIG_INVALID');
    }
  });
});

describe('LIKE stays linear', () => {
  test("'%a%a%a%a%a%a%a%a%b' against 10000 'a's completes and does not match", () => {
    const value = 'a'.repeat(10_000);
    const s = compileSelector("s LIKE '%a%a%a%a%a%a%a%a%b'");
    assert.equal(s.matches(() => value), false);
    assert.equal(s.matches(() => `${value}b`), true);
  });
});

// A numeric string in arithmetic or against an IN list of numbers is read by one regular expression
// per evaluation; a value of 300,000 digits and a letter once took minutes (a run of digits split
// between '\d+\.?\d*'). Milliseconds now; the test timeout fails the quadratic version.
describe('numeric strings of any length in arithmetic and IN cost linear time', () => {
  const huge = `${'7'.repeat(300_000)}x`;
  const resolveHuge: SelectorResolver = (name) => (name === 'x' ? huge : undefined);
  for (const [text, expected] of [['x + 1 = 2', false], ['NOT (x + 1 = 2)', false], ['x IN (1, 2)', false], ['x NOT IN (1, 2)', false], ['x = 5.0', false], ['x <> 5.0', true]] as const) {
    test(`${text} against 300,000 digits and a letter`, { timeout: 20_000 }, () => {
      assert.equal(compileSelector(text).matches(resolveHuge), expected);
    });
  }
});
