import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { map } from 'rxjs';
import { route } from '../../src/routing/builder.ts';
import { startBroker } from '../helpers/broker.ts';
import { captureLog } from '../helpers/log-capture.ts';
import { bodies, connectFor, eventually, stats } from '../helpers/stompjs.ts';

/* Route lifecycle details: drain on stop with a timeout, timers and log endpoints, persisted idempotent keys. */

test('stop drains within drainTimeout; what is still in flight goes back to the queue', async (t) => {
  const broker = await startBroker({ store: { type: 'memory' } });
  t.after(() => broker.stop());
  let started = 0;
  await broker.routes.deploy({
    id: 'stuck',
    from: 'queue:stuck.in',
    maxInflight: 5,
    drainTimeout: 200,
    steps: [{ process: () => { started++; return new Promise<void>(() => {}); } }, { to: 'queue:stuck.out' }],
  });
  const c = await connectFor(t, broker);
  for (let i = 0; i < 8; i++) await c.send('/queue/stuck.in', `m${i}`, { persistent: 'true' });
  await eventually(() => assert.equal(started, 5));
  assert.equal(stats(broker, 'stuck.in').inDelivery, 5);
  await broker.routes.undeploy('stuck');
  const q = stats(broker, 'stuck.in');
  assert.equal(q.inDelivery, 0, 'in-flight deliveries returned');
  assert.equal(q.messages, 8, 'nothing lost, nothing acknowledged');
  // A new consumer gets all of them, the unfinished ones marked redelivered.
  const inbox = await c.subscribe('/queue/stuck.in');
  const got = await inbox.take(8);
  assert.equal(got.filter((m) => m.headers.redelivered === 'true').length, 5);
});

test('timer source and log endpoint', async (t) => {
  const { logger, lines } = captureLog();
  const broker = await startBroker({ store: { type: 'memory' } }, { logger });
  t.after(() => broker.stop());
  await broker.routes.deploy({
    id: 'ticker',
    from: 'timer:tick?period=20&repeatCount=3',
    steps: [{ setBody: { object: ['n', { var: 'headers.timerCounter' }] } }, { to: 'log:ticks' }, { to: 'queue:ticks' }],
  });
  const c = await connectFor(t, broker);
  const ticks = await c.subscribe('/queue/ticks');
  assert.deepEqual(bodies(await ticks.take(3)), ['{"n":1}', '{"n":2}', '{"n":3}']);
  await ticks.expectNone(100);
  await eventually(() => assert.equal(lines.filter((l) => l.msg === 'log:ticks').length, 3));
  const logged = lines.find((l) => l.msg === 'log:ticks')!;
  assert.equal(logged.route, 'ticker');
  assert.equal(logged.body, undefined, 'no payload in the log unless showBody=true');
  assert.deepEqual(logged.headers, { timerName: 'tick', timerCounter: 1, timerFiredTime: (logged.headers as { timerFiredTime: number }).timerFiredTime });
});

test('a persisted idempotent consumer remembers keys across a restart', async (t) => {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'junction-idem-'));
  t.after(() => rm(dataDir, { recursive: true, force: true }));
  const def = { id: 'dedup', from: 'queue:dedup.in', steps: [{ idempotent: { key: { var: 'headers.orderId' }, persisted: true } }, { to: 'queue:dedup.out' }] };
  const b1 = await startBroker({ dataDir });
  await b1.routes.deploy(def);
  const c1 = await connectFor(t, b1);
  await c1.send('/queue/dedup.in', 'first', { orderId: '1', persistent: 'true' });
  await c1.send('/queue/dedup.in', 'dup', { orderId: '1', persistent: 'true' });
  await eventually(() => assert.equal(b1.routes.stats('dedup').completed, 2));
  await c1.close();
  await b1.stop();
  const b2 = await startBroker({ dataDir });
  t.after(() => b2.stop());
  const c2 = await connectFor(t, b2);
  await c2.send('/queue/dedup.in', 'dup after restart', { orderId: '1', persistent: 'true' });
  await c2.send('/queue/dedup.in', 'second', { orderId: '2', persistent: 'true' });
  const out = await c2.subscribe('/queue/dedup.out');
  assert.deepEqual(bodies(await out.take(2)), ['first', 'second']);
  await out.expectNone();
});

test('a pipeline that fails (a hand-made operator throws) stops consuming and gives back what it held', { timeout: 30_000 }, async (t) => {
  const broker = await startBroker({ store: { type: 'memory' } });
  t.after(() => broker.stop());
  await broker.routes.deploy(
    route('broken-op')
      .from('queue:broken.in')
      .maxInflight(3)
      .drainTimeout(3_600_000)
      .pipe(() => map(() => { throw new Error('operator bug'); }))
      .to('queue:broken.out'),
  );
  const c = await connectFor(t, broker);
  for (let i = 0; i < 5; i++) await c.send('/queue/broken.in', `m${i}`, { persistent: 'true' });
  await eventually(() => assert.equal(broker.routes.list()[0]?.state, 'failed'));
  assert.match(broker.routes.list()[0]!.error ?? '', /operator bug/);
  // 1. Nothing stays in delivery to a route that can no longer settle it.
  await eventually(() => assert.equal(stats(broker, 'broken.in').inDelivery, 0));
  assert.equal(stats(broker, 'broken.in').messages, 5, 'nothing lost');
  // 2. Undeploy does not wait for exchanges a dead pipeline will never settle (drainTimeout is an hour).
  await broker.routes.undeploy('broken-op');
  const inbox = await c.subscribe('/queue/broken.in');
  assert.equal((await inbox.take(5)).length, 5);
});

test('a persisted idempotent consumer keeps the keys its previous version stored while draining', async (t) => {
  const broker = await startBroker({ store: { type: 'memory' } });
  t.after(() => broker.stop());
  let open: () => void = () => {};
  const gate = new Promise<void>((resolve) => (open = resolve));
  const version = (v: number) => ({
    id: 'dedup-redeploy',
    from: 'queue:dr.in',
    drainTimeout: 60_000,
    steps: [
      { idempotent: { key: { var: 'headers.orderId' }, persisted: true } },
      { process: async () => { if (v === 1) await gate; } },
      { setHeader: { name: 'v', value: v } },
      { to: 'queue:dr.out' },
    ],
  });
  await broker.routes.deploy(version(1));
  const c = await connectFor(t, broker);
  await c.send('/queue/dr.in', 'first', { orderId: '1', persistent: 'true' });
  await eventually(() => assert.equal(broker.routes.stats('dedup-redeploy').inFlight, 1));
  // 1. Redeploy while order 1 is in flight; it completes in version 1's drain.
  const redeployed = broker.routes.deploy(version(2));
  open();
  await redeployed;
  // 2. Version 2 stores a key of its own, then order 1 comes again: still a duplicate.
  await c.send('/queue/dr.in', 'second', { orderId: '2', persistent: 'true' });
  await c.send('/queue/dr.in', 'first again', { orderId: '1', persistent: 'true' });
  await eventually(() => assert.equal(broker.routes.stats('dedup-redeploy').completed, 2));
  const out = await c.subscribe('/queue/dr.out');
  const got = await out.take(2);
  assert.deepEqual(got.map((m) => [m.body, m.headers.v]), [['first', '1'], ['second', '2']]);
  await out.expectNone();
});
