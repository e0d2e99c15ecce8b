import assert from 'node:assert/strict';
import { test } from 'node:test';
import { removeProperty } from '../../../patterns/remove-property.ts';
import { setBody } from '../../../patterns/set-body.ts';
import { removeHeader, setHeader } from '../../../patterns/set-header.ts';
import { setProperty } from '../../../patterns/set-property.ts';
import { context, ex, rule, run } from './fixture.ts';

test('setBody replaces the body with an expression value (objects as JSON)', async () => {
  const ctx = context();
  const [out] = await run(setBody(rule({ object: ['id', { var: 'body.n' }, 'unit', 'C'] }), ctx), [ex({ n: 7 })]);
  assert.deepEqual(out!.body(), { id: 7, unit: 'C' });
  assert.equal(out!.message.bodyType, 'json');
  assert.equal(out!.message.body.toString(), '{"id":7,"unit":"C"}');
});

test('setBody with {"literal": object} sets that object', async () => {
  const ctx = context();
  const [out] = await run(setBody(rule({ literal: { a: { b: 1 } } }), ctx), [ex('x')]);
  assert.deepEqual(out!.body(), { a: { b: 1 } });
});

test('setHeader and removeHeader change message headers; setProperty/removeProperty exchange properties', async () => {
  const ctx = { ...context(), trace: true };
  const e = ex({ region: 'eu' }, { keep: 'yes', drop: 'x' });
  const [out] = await run(
    (s) => s.pipe(
      setHeader('region', rule({ upper: { var: 'body.region' } }), ctx),
      removeHeader('drop', ctx),
      setProperty('unit', rule('C'), ctx),
      setProperty('tmp', rule(1), ctx),
      removeProperty('tmp', ctx),
    ),
    [e],
  );
  assert.deepEqual(out!.message.headers, { keep: 'yes', region: 'EU' });
  assert.equal(out!.properties.unit, 'C');
  assert.equal('tmp' in out!.properties, false);
  assert.equal(out!.history.length, 5, 'a tracing route records each step in the history');
  const [untraced] = await run(setProperty('x', rule(1), context()), [ex('y')]);
  assert.equal(untraced!.history.length, 0, 'no history unless the route traces');
});
