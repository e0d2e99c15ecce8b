import assert from 'node:assert/strict';
import { test } from 'node:test';
import { map } from 'rxjs';
import { doTry } from '../../../patterns/do-try.ts';
import { to } from '../../../patterns/to.ts';
import type { Exchange } from '../../../src/routing/types.ts';
import { context, ex, pred, RecordingProducer, run } from './fixture.ts';

const tag = (t: string) => map((e: Exchange) => { e.properties.handledBy = t; return e; });

test('doTry: failures go to the first matching catch with properties.error, then continue; unmatched ones to the error handler', async () => {
  const ctx = context();
  const remote = { uri: 'queue:partner', send: async (e: Exchange) => { const b = e.body() as string; if (b !== 'ok') throw new Error(b); } } as never;
  const step = doTry(
    (errors) => to(remote, { ...ctx, errors }),
    [
      { when: pred({ in: ['timeout', { var: 'properties.error.message' }] }), step: tag('retry-later') },
      { when: pred({ in: ['rejected', { var: 'properties.error.message' }] }), step: tag('rejections') },
    ],
    ctx,
  );
  const out = await run(step, [ex('ok'), ex('partner timeout'), ex('order rejected'), ex('disk on fire')]);
  const seen = Object.fromEntries(out.map((e) => [e.body(), e.properties.handledBy ?? 'try']));
  assert.deepEqual(seen, { ok: 'try', 'partner timeout': 'retry-later', 'order rejected': 'rejections' });
  assert.deepEqual((out.find((e) => e.body() === 'partner timeout')!.properties.error as { message: string }).message, 'partner timeout');
  assert.equal(ctx.failures.length, 1);
  assert.equal(ctx.failures[0]!.error.message, 'disk on fire');
});

test('doTry: a catch without when takes every failure; redelivery happens before the catch', async () => {
  const ctx = context({ policy: { maxRedeliveries: 2, redeliveryDelay: 0 } });
  const p = new RecordingProducer('queue:flaky', 10);
  const out = await run(doTry((errors) => to(p, { ...ctx, errors }), [{ step: tag('caught') }], ctx), [ex('x')]);
  assert.equal(out[0]!.properties.handledBy, 'caught');
  assert.equal((out[0]!.properties.error as { attempts: number }).attempts, 3);
  assert.equal(p.calls, 3);
});
