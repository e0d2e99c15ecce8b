import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Ajv } from 'ajv';
import { log } from '../../../patterns/log.ts';
import { processStep } from '../../../patterns/process.ts';
import { validate } from '../../../patterns/validate.ts';
import { template } from '../../../src/routing/expression.ts';
import { bodies, context, ex, run } from './fixture.ts';

test('validate passes valid bodies and fails invalid ones to the error handler', async () => {
  const ajv = new Ajv();
  const check = ajv.compile({ type: 'object', required: ['id'], properties: { id: { type: 'number' } } });
  const ctx = context();
  const out = await run(validate((e) => (check(e.body()) ? undefined : ajv.errorsText(check.errors)), ctx), [ex({ id: 1 }), ex({ id: 'x' }), ex({})]);
  assert.deepEqual(bodies(out), [{ id: 1 }]);
  assert.equal(ctx.failures.length, 2);
  assert.match(ctx.failures[0]!.error.message, /validation failed: .*must be number/);
});

test('log writes the template with message values', async () => {
  const lines: Array<[object, string]> = [];
  const ctx = { ...context(), log: { debug() {}, info: (o: object, m?: string) => lines.push([o, m!]), warn() {}, error() {} } };
  await run(log(template('order ${body.id} from ${headers.customer}'), 'info', ctx), [ex({ id: 7 }, { customer: 'acme' })]);
  assert.equal(lines[0]![1], 'order 7 from acme');
});

test('process runs a function step; a throw follows redelivery then the error handler', async () => {
  const ctx = context({ policy: { maxRedeliveries: 1, redeliveryDelay: 0 } });
  let calls = 0;
  const out = await run(processStep((e) => { calls++; if (e.body() === 'bad') throw new Error('nope'); e.setBody('ok'); }, ctx), [ex('good'), ex('bad')]);
  assert.deepEqual(bodies(out), ['ok']);
  assert.equal(calls, 3);
  assert.equal(ctx.failures[0]!.attempts, 2);
});
