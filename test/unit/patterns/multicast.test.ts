import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Subject, VirtualTimeScheduler } from 'rxjs';
import type { Exchange, Producer } from '../../../src/routing/types.ts';
import { multicast } from '../../../patterns/multicast.ts';
import { to } from '../../../patterns/to.ts';
import { wireTap } from '../../../patterns/wire-tap.ts';
import { context, ex, RecordingProducer, run } from './fixture.ts';

test('multicast sends a copy through each branch; the source settles after all copies', async () => {
  const ctx = context();
  const a = new RecordingProducer('queue:a');
  const b = new RecordingProducer('queue:b');
  const e = ex({ id: 1 });
  const out = await run(multicast([to(a, ctx), to(b, ctx)], ctx), [e]);
  assert.deepEqual(a.sent, [{ id: 1 }]);
  assert.deepEqual(b.sent, [{ id: 1 }]);
  assert.equal(out.length, 1, 'the exchange continues');
  assert.equal(e.outcome(), undefined);
  out[0]!.ack();
  assert.deepEqual(e.outcome(), { kind: 'ack' });
});

test('multicast: a failing branch nacks the source', async () => {
  const ctx = context();
  const e = ex('x');
  const out = await run(multicast([to(new RecordingProducer('queue:ok'), ctx), to(new RecordingProducer('queue:bad', 1), ctx)], ctx), [e]);
  out[0]!.ack();
  assert.equal(e.outcome()?.kind, 'nack');
});

test('wireTap sends a copy and the exchange continues; the source waits for the tap', async () => {
  const ctx = context();
  const tap = new RecordingProducer('queue:audit');
  const e = ex('payload');
  const out = await run(wireTap(tap, ctx), [e]);
  assert.equal(out.length, 1);
  out[0]!.ack();
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(tap.sent, ['payload']);
  assert.deepEqual(e.outcome(), { kind: 'ack' });
});

test('wireTap: a stopped route makes no further attempts to send its copies', () => {
  const scheduler = new VirtualTimeScheduler();
  const ctx = context({ scheduler, policy: { maxRedeliveries: 5, redeliveryDelay: 1000 } });
  let calls = 0;
  const down: Producer = {
    uri: 'queue:audit',
    send: () => {
      calls++;
      throw new Error('audit is down');
    },
  };
  const input = new Subject<Exchange>();
  const sub = input.pipe(wireTap(down, ctx)).subscribe();
  input.next(ex('payload'));
  assert.equal(calls, 1);
  // 1. The route stops (drain timeout over): its subscription goes, with the tap's redelivery timers.
  sub.unsubscribe();
  scheduler.flush();
  assert.equal(calls, 1, 'no redelivery after the route stopped');
});

test('wireTap: the step completes only once its copies are sent (a stopping route drains them)', async () => {
  const ctx = context();
  const sent: unknown[] = [];
  // Stored a turn of the event loop later, as a durable send is.
  const slow: Producer = { uri: 'queue:audit', send: (c) => new Promise((resolve) => setImmediate(() => resolve(sent.push(c.body())))) };
  const e = ex('payload');
  const out = await run(wireTap(slow, ctx), [e]);
  assert.deepEqual(sent, ['payload'], 'stored before the step completed');
  out[0]!.ack();
  assert.deepEqual(e.outcome(), { kind: 'ack' });
});
