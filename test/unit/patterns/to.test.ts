import assert from 'node:assert/strict';
import { test } from 'node:test';
import { map } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { to } from '../../../patterns/to.ts';
import type { Exchange } from '../../../src/routing/types.ts';
import { context, ex, RecordingProducer, run } from './fixture.ts';

test('to sends each exchange and passes it on', async () => {
  const ctx = context();
  const p = new RecordingProducer();
  const out = await run(to(p, ctx), [ex('a'), ex('b')]);
  assert.deepEqual(p.sent, ['a', 'b']);
  assert.equal(out.length, 2);
});

test('to: redelivery with exponential backoff (virtual time), then success', () => {
  const scheduler = new TestScheduler((a, b) => assert.deepEqual(a, b));
  scheduler.run(({ cold, expectObservable }) => {
    const ctx = context({ scheduler, policy: { maxRedeliveries: 3, redeliveryDelay: 10, backoffMultiplier: 2 } });
    const p = new RecordingProducer('queue:flaky', 2);
    // Sends are promises: make them synchronous observables for virtual time.
    const sync = { uri: p.uri, send: (e: Exchange) => { p.calls++; if (p.failures-- > 0) throw new Error('down'); p.sent.push(e.body()); } } as never;
    const out = cold('a', { a: ex('a') }).pipe(to(sync, ctx), map((e: Exchange) => e.body()));
    // Fails at 0, retried after 10 (fails), after 20 more: succeeds at 30.
    expectObservable(out).toBe('30ms a', { a: 'a' });
  });
});

test('to: exhausted redeliveries go to the error handler with the attempt count', async () => {
  const ctx = context({ policy: { maxRedeliveries: 2, redeliveryDelay: 0 } });
  const p = new RecordingProducer('queue:down', 10);
  const e = ex('a');
  const out = await run(to(p, ctx), [e]);
  assert.equal(out.length, 0);
  assert.equal(p.calls, 3, 'one delivery and two redeliveries');
  assert.equal(ctx.failures[0]!.attempts, 3);
  assert.match(ctx.failures[0]!.error.message, /down/);
  assert.equal(e.outcome()?.kind, 'nack');
});
