import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Exchange } from '../../src/routing/types.ts';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { bodies, connectFor, eventually, stats } from '../helpers/stompjs.ts';

/*
 * Routes end to end: STOMP clients (stompjs over TCP) produce to and consume from the queues a
 * route connects, on a broker on port 0.
 */

let broker: TestBroker;
before(async () => {
  broker = await startBroker({ store: { type: 'memory' }, addressSettings: { 'plain.>': { maxDeliveryAttempts: 2, deadLetterAddress: 'plain.DLQ' } } });
});
after(() => broker.stop());

const json = (v: unknown) => JSON.stringify(v);

test('content-based router: filter, setProperty, choice to alerts or readings', async (t) => {
  await broker.routes.deploy({
    id: 'cbr',
    from: 'queue:cbr.in',
    steps: [
      { filter: { '!=': [{ var: 'body.celsius' }, null] } },
      { setProperty: { name: 'unit', value: 'C' } },
      { setHeader: { name: 'unit', value: { var: 'properties.unit' } } },
      { choice: { when: [{ if: { '>': [{ var: 'body.celsius' }, 30] }, steps: [{ to: 'queue:cbr.alerts' }] }], otherwise: [{ to: 'queue:cbr.readings' }] } },
    ],
  });
  const c = await connectFor(t, broker);
  const alerts = await c.subscribe('/queue/cbr.alerts');
  const readings = await c.subscribe('/queue/cbr.readings');
  for (const v of [12, 35, null, 31, 20]) await c.send('/queue/cbr.in', json({ celsius: v }), { persistent: 'true' });
  assert.deepEqual(bodies(await alerts.take(2)), [json({ celsius: 35 }), json({ celsius: 31 })]);
  const r = await readings.take(2);
  assert.deepEqual(bodies(r), [json({ celsius: 12 }), json({ celsius: 20 })]);
  assert.equal(r[0]!.headers.unit, 'C', 'headers set by the route go out with the message');
  assert.equal(r[0]!.headers.persistent, 'true', 'durability is kept');
  await eventually(() => assert.equal(broker.routes.stats('cbr').completed, 5));
  assert.equal(stats(broker, 'cbr.in').messages, 0, 'every input acknowledged');
  await broker.routes.undeploy('cbr');
});

test('split into lines and aggregate them back per order', async (t) => {
  // The order id reaches the parts as an exchange property set before the split.
  const def = {
    id: 'orders',
    from: 'queue:orders.in',
    steps: [
      { setProperty: { name: 'order', value: { var: 'body.id' } } },
      { split: { by: { var: 'body.lines' } } },
      { setBody: { object: ['order', { var: 'properties.order' }, 'sku', { var: 'body.sku' }, 'total', { '*': [{ var: 'body.qty' }, { var: 'body.price' }] }] } },
      { to: 'queue:orders.lines' },
      { aggregate: { correlation: { var: 'properties.order' }, completionSize: { var: 'properties.splitSize' }, strategy: 'collect' } },
      { setBody: { object: ['order', { var: 'properties.order' }, 'total', { reduce: [{ var: 'body' }, { '+': [{ var: 'current.total' }, { var: 'accumulator' }] }, 0] }] } },
      { to: 'queue:orders.done' },
    ],
  };
  await broker.routes.deploy(def);
  const c = await connectFor(t, broker);
  const done = await c.subscribe('/queue/orders.done');
  const lines = await c.subscribe('/queue/orders.lines');
  await c.send('/queue/orders.in', json({ id: 'A', lines: [{ sku: 'x', qty: 2, price: 5 }, { sku: 'y', qty: 1, price: 3 }] }), { persistent: 'true' });
  await c.send('/queue/orders.in', json({ id: 'B', lines: [{ sku: 'z', qty: 4, price: 1 }] }), { persistent: 'true' });
  assert.equal((await lines.take(3)).length, 3);
  const totals = (await done.take(2)).map((m) => JSON.parse(m.body)).sort((a, b) => a.order.localeCompare(b.order));
  assert.deepEqual(totals, [{ order: 'A', total: 13 }, { order: 'B', total: 4 }]);
  await eventually(() => assert.equal(stats(broker, 'orders.in').messages, 0));
  await broker.routes.undeploy('orders');
});

test('error handler: redelivery, then the dead-letter channel with the failure headers', async (t) => {
  let calls = 0;
  await broker.routes.deploy({
    id: 'flaky',
    from: 'queue:flaky.in',
    errorHandler: { deadLetter: 'queue:flaky.DLQ', maxRedeliveries: 2, redeliveryDelay: 5, backoffMultiplier: 2 },
    steps: [
      {
        process: (ex: Exchange) => {
          calls++;
          const b = ex.body() as { fail: string };
          if (b.fail === 'always' || (b.fail === 'once' && ex.properties.tried === undefined)) {
            ex.properties.tried = true;
            throw new Error(`cannot process ${b.fail}`);
          }
        },
      },
      { to: 'queue:flaky.out' },
    ],
  });
  const c = await connectFor(t, broker);
  const out = await c.subscribe('/queue/flaky.out');
  const dlq = await c.subscribe('/queue/flaky.DLQ');
  await c.send('/queue/flaky.in', json({ fail: 'once' }), { persistent: 'true', orderId: '17' });
  await c.send('/queue/flaky.in', json({ fail: 'always' }), { persistent: 'true', orderId: '18' });
  assert.deepEqual(bodies(await out.take(1)), [json({ fail: 'once' })]);
  const dead = await dlq.one();
  assert.equal(dead.body, json({ fail: 'always' }));
  assert.equal(dead.headers.junctionRouteId, 'flaky');
  assert.equal(dead.headers.junctionRouteStep, 'steps[0]');
  assert.equal(dead.headers.junctionRouteError, 'cannot process always');
  assert.equal(dead.headers.junctionRouteAttempts, '3');
  assert.equal(dead.headers.junctionRouteFrom, 'queue:flaky.in');
  assert.equal(dead.headers.orderId, '18', 'the original message with its headers');
  await eventually(() => {
    const s = broker.routes.stats('flaky');
    assert.equal(s.deadLettered, 1);
    assert.equal(s.completed, 2, 'a dead-lettered message is handled: its source is acknowledged');
    assert.equal(s.redeliveries, 3);
  });
  assert.equal(calls, 5);
  await broker.routes.undeploy('flaky');
});

test('without an error handler a failure nacks the source: the broker redelivers, then dead-letters', async (t) => {
  await broker.routes.deploy({ id: 'plain', from: 'queue:plain.in', steps: [{ validate: { schema: { type: 'object', required: ['id'] } } }, { to: 'queue:plain.out' }] });
  const c = await connectFor(t, broker);
  const dlq = await c.subscribe('/queue/plain.DLQ');
  await c.send('/queue/plain.in', json({ nope: 1 }), { persistent: 'true' });
  const dead = await dlq.one();
  assert.equal(dead.body, json({ nope: 1 }));
  assert.match(dead.headers.dlqDeliveryFailureCause ?? '', /attempts exhausted|route plain/);
  await eventually(() => assert.equal(broker.routes.stats('plain').failed, 2, 'delivered twice (maxDeliveryAttempts 2), nacked each time'));
  await broker.routes.undeploy('plain');
});

test('topic source: a durable subscription named after the route keeps messages while suspended', async (t) => {
  await broker.routes.deploy({ id: 'temps', from: 'topic:sensors.*.temp', steps: [{ setHeader: { name: 'sensor', value: { var: 'destination' } } }, { to: 'queue:temps.all' }] });
  const c = await connectFor(t, broker);
  const all = await c.subscribe('/queue/temps.all');
  await c.send('/topic/sensors.1.temp', '20', { persistent: 'true' });
  assert.equal((await all.one()).headers.sensor, 'topic:sensors.1.temp');
  await broker.routes.suspend('temps');
  assert.equal(broker.routes.list().find((r) => r.id === 'temps')!.state, 'suspended');
  await c.send('/topic/sensors.2.temp', '21', { persistent: 'true' });
  await c.send('/topic/sensors.3.temp', '22', { persistent: 'true' });
  await all.expectNone();
  assert.equal(stats(broker, 'route.temps').messages, 2, 'kept in the route subscription');
  await broker.routes.resume('temps');
  assert.deepEqual(bodies(await all.take(2)), ['21', '22']);
  await broker.routes.undeploy('temps');
  assert.equal(broker.core.getQueue('route.temps'), undefined, 'undeploy removes the subscription');
});

test('enrich: request-reply to a STOMP responder', async (t) => {
  await broker.routes.deploy({ id: 'enrich', from: 'queue:enrich.in', steps: [{ enrich: { uri: 'queue:prices', timeout: 5000, strategy: 'merge' } }, { to: 'queue:enrich.out' }] });
  const responder = await connectFor(t, broker);
  const requests = await responder.subscribe('/queue/prices');
  requests.onMessage = (m) => {
    const sku = JSON.parse(m.body).sku;
    void responder.send(m.headers['reply-to']!, json({ price: sku.length * 10 }), { 'correlation-id': m.headers['correlation-id']! });
  };
  const c = await connectFor(t, broker);
  const out = await c.subscribe('/queue/enrich.out');
  await c.send('/queue/enrich.in', json({ sku: 'abc' }));
  assert.deepEqual(JSON.parse((await out.one()).body), { sku: 'abc', price: 30 });
  await broker.routes.undeploy('enrich');
});

test('multicast, wireTap and recipientList deliver to every target; idempotent drops duplicates', async (t) => {
  await broker.routes.deploy({
    id: 'fan',
    from: 'queue:fan.in',
    steps: [
      { idempotent: { key: { var: 'headers.key' } } },
      { wireTap: 'queue:fan.audit' },
      { multicast: ['queue:fan.a', [{ setHeader: { name: 'copy', value: 'b' } }, { to: 'queue:fan.b' }]] },
      { recipientList: { cat: ['queue:fan.region.', { var: 'headers.region' }] } },
    ],
  });
  const c = await connectFor(t, broker);
  const [audit, a, b, eu] = await Promise.all(['fan.audit', 'fan.a', 'fan.b', 'fan.region.eu'].map((q) => c.subscribe(`/queue/${q}`)));
  await c.send('/queue/fan.in', 'm1', { key: '1', region: 'eu' });
  await c.send('/queue/fan.in', 'm1 again', { key: '1', region: 'eu' });
  await c.send('/queue/fan.in', 'm2', { key: '2', region: 'eu' });
  for (const inbox of [audit!, a!, eu!]) assert.deepEqual(bodies(await inbox.take(2)), ['m1', 'm2']);
  assert.equal((await b!.take(2))[0]!.headers.copy, 'b');
  await eventually(() => assert.equal(broker.routes.stats('fan').completed, 3));
  await audit!.expectNone();
  await broker.routes.undeploy('fan');
});

test('credit: at most maxInflight exchanges in flight (backpressure is broker credit)', async (t) => {
  const release: Array<() => void> = [];
  await broker.routes.deploy({ id: 'slow', from: 'queue:slow.in', maxInflight: 3, steps: [{ process: () => new Promise<void>((r) => release.push(r)) }, { to: 'queue:slow.out' }] });
  const c = await connectFor(t, broker);
  for (let i = 0; i < 10; i++) await c.send('/queue/slow.in', `m${i}`);
  await eventually(() => assert.equal(release.length, 3));
  assert.equal(stats(broker, 'slow.in').inDelivery, 3);
  assert.equal(broker.routes.stats('slow').inFlight, 3);
  while (release.length > 0 || broker.routes.stats('slow').completed < 10) {
    release.shift()?.();
    await new Promise((r) => setImmediate(r));
  }
  await eventually(() => assert.equal(stats(broker, 'slow.out').messages, 10));
  await broker.routes.undeploy('slow');
});

test('JSON forms of loadBalance, resequence, throttle, delay, circuitBreaker with fallback, errorHandler and doTry steps', async (t) => {
  await broker.routes.deploy({
    id: 'misc',
    from: 'queue:misc.in',
    maxInflight: 50,
    steps: [
      { resequence: { by: { var: 'headers.seq' }, size: 4, timeout: 2000 } },
      { throttle: { rate: 100, period: 1000 } },
      { delay: 1 },
      { loadBalance: { strategy: 'roundRobin', to: ['queue:misc.lb1', 'queue:misc.lb2'] } },
      {
        circuitBreaker: {
          failureThreshold: 1,
          resetTimeout: 60_000,
          // A wildcard queue name cannot be sent to: the breaker trips on the first message.
          steps: [{ to: 'queue:misc.down.*' }],
          fallback: [{ setHeader: { name: 'fallback', value: { var: 'properties.circuitBreakerError' } } }, { to: 'queue:misc.fallback' }],
        },
      },
      { errorHandler: { deadLetter: 'queue:misc.DLQ', steps: [{ validate: { schema: { type: 'string', pattern: '^m' } } }] } },
      {
        doTry: {
          steps: [{ to: 'queue:misc.nowhere.>' }],
          catch: [{ when: { in: ['ildcard', { var: 'properties.error.message' }] }, steps: [{ setHeader: { name: 'caught', value: { var: 'properties.error.step' } } }] }],
          finally: [{ setHeader: { name: 'finally', value: true } }],
        },
      },
      { to: 'queue:misc.out' },
    ],
  });
  const c = await connectFor(t, broker);
  const [lb1, lb2, fb, out] = await Promise.all(['misc.lb1', 'misc.lb2', 'misc.fallback', 'misc.out'].map((q) => c.subscribe(`/queue/${q}`)));
  for (const seq of [3, 1, 4, 2]) await c.send('/queue/misc.in', `m${seq}`, { seq: String(seq) });
  // Resequenced, then alternately balanced.
  assert.deepEqual(bodies(await lb1!.take(2)), ['m1', 'm3']);
  assert.deepEqual(bodies(await lb2!.take(2)), ['m2', 'm4']);
  const fallbacks = await fb!.take(4);
  assert.match(fallbacks[0]!.headers.fallback ?? '', /Wildcard|invalid|wildcard/i);
  assert.equal(fallbacks[1]!.headers.fallback, 'circuit breaker is open');
  const done = await out!.take(4);
  assert.deepEqual(bodies(done), ['m1', 'm2', 'm3', 'm4']);
  assert.equal(done[0]!.headers.caught, 'steps[6].doTry.steps[0]');
  assert.equal(done[0]!.headers.finally, 'true');
  await eventually(() => assert.equal(broker.routes.stats('misc').completed, 4));
  await broker.routes.undeploy('misc');
});
