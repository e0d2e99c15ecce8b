import assert from 'node:assert/strict';
import { test } from 'node:test';
import jsonLogic from 'json-logic-js';
import { compileLogic } from '../../../src/routing/fast-logic.ts';

const data = { body: { celsius: 31.5, n: '7', tags: ['a', 'b'], empty: [], zero: 0, s: 'x' }, headers: { site: 'b', flag: 'true' }, properties: {} };

const rules: unknown[] = [
  { var: 'body.celsius' }, { var: 'body.missing' }, { var: ['body.missing', 5] }, { var: '' }, { var: 'body.tags.1' },
  { '==': [{ var: 'body.n' }, 7] }, { '===': [{ var: 'body.n' }, 7] }, { '!=': [{ var: 'body.celsius' }, null] }, { '!==': [1, '1'] },
  { '>': [{ var: 'body.celsius' }, 30] }, { '>=': [30, 30] }, { '<': [1, { var: 'body.n' }, 10] }, { '<=': [1, 1, 0] }, { '<': [2, 1] },
  { '!': { var: 'body.empty' } }, { '!!': [{ var: 'body.tags' }] }, { '!': [{ var: 'body.zero' }] },
  { and: [true, { var: 'body.s' }] }, { and: [{ var: 'body.zero' }, true] }, { or: [{ var: 'body.empty' }, 0, 'y'] }, { or: [false, 0] },
  { if: [{ '>': [{ var: 'body.celsius' }, 40] }, 'hot', { '>': [{ var: 'body.celsius' }, 30] }, 'warm', 'cold'] }, { if: [false, 1] }, { '?:': [true, 1, 2] },
  { '+': [1, '2', { var: 'body.n' }] }, { '*': [{ var: 'body.celsius' }, 2] }, { '-': [5, 2] }, { '-': [3] }, { '/': [7, 2] }, { '%': [7, 3] },
  { cat: ['t=', { var: 'body.celsius' }, { var: 'headers.site' }] }, { in: ['a', { var: 'body.tags' }] }, { in: ['q', 'quiz'] }, { in: ['a', null] },
  // Delegated to json-logic-js: map/filter/reduce, merge, substr, min.
  { map: [{ var: 'body.tags' }, { cat: [{ var: '' }, '!'] }] }, { reduce: [[1, 2, 3], { '+': [{ var: 'current' }, { var: 'accumulator' }] }, 0] },
  { merge: [[1], [2, 3]] }, { substr: ['junction', 4] }, { min: [3, 1, 2] }, { and: [{ some: [{ var: 'body.tags' }, { '==': [{ var: '' }, 'b'] }] }, 1] },
  'literal', 42, null, [1, { var: 'body.s' }],
];

test('compiled json-logic gives what json-logic-js gives', () => {
  for (const r of rules) {
    assert.deepEqual(compileLogic(r)(data), jsonLogic.apply(r as never, data), JSON.stringify(r));
  }
});
