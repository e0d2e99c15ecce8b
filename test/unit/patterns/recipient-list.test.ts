import assert from 'node:assert/strict';
import { test } from 'node:test';
import { recipientList, recipients } from '../../../patterns/recipient-list.ts';
import { context, ex, rule, run } from './fixture.ts';

test('recipientList sends to the endpoints computed per message', async () => {
  const ctx = context();
  const out = await run(recipientList(rule({ split: [{ var: 'headers.to' }, ','] }), ctx), [ex('m1', { to: 'queue:a,queue:b' }), ex('m2', { to: 'queue:b' })]);
  assert.equal(out.length, 2);
  assert.deepEqual(ctx.producers.get('queue:a')!.sent, ['m1']);
  assert.deepEqual(ctx.producers.get('queue:b')!.sent, ['m1', 'm2']);
});

test('recipients accepts arrays and comma lists', () => {
  assert.deepEqual(recipients(['queue:a', ' queue:b ']), ['queue:a', 'queue:b']);
  assert.deepEqual(recipients('queue:a, ,queue:c'), ['queue:a', 'queue:c']);
  assert.deepEqual(recipients(null), []);
});
