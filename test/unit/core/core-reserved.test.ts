import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import type { Origin } from '../../../src/core/reserved.ts';
import { reservedOwner } from '../../../src/core/reserved.ts';
import { closeCores, Collector, openCore } from './core-fixture.ts';

const stomp1: Origin = { component: 'stomp', connectionId: '1' };
const amqp1: Origin = { component: 'amqp', connectionId: '1' };
const amqp2: Origin = { component: 'amqp', connectionId: '2' };
const mqtt: Origin = { component: 'mqtt' };
const route: Origin = { component: 'route' };
const queue = (name: string) => ({ type: 'queue' as const, name });
const topic = (name: string) => ({ type: 'topic' as const, name });
const msg = (name: string, durable = true) => ({ destination: queue(name), body: Buffer.from('x'), durable });

afterEach(closeCores);

describe('reserved names and scheduling limits in the core', () => {
  test('reservedOwner: $ = broker, mqtt./mqtt-share. = MQTT, route. = routes, anything else none', () => {
    assert.equal(reservedOwner('$tmp.a'), 'core');
    assert.equal(reservedOwner('$sub.1.2'), 'core');
    assert.equal(reservedOwner('$retained'), 'core');
    assert.equal(reservedOwner('mqtt.dev.a'), 'mqtt');
    assert.equal(reservedOwner('mqtt-share.g.a'), 'mqtt');
    assert.equal(reservedOwner('route.r1'), 'route');
    for (const name of ['orders', 'mqttx.a', 'routes.a', 'm', 'r', 'x-amqp-body', 'tmp.a']) assert.equal(reservedOwner(name), undefined, name);
  });

  test('a send never auto-creates a reserved name; a live temporary queue takes sends from anyone', async () => {
    const core = await openCore();
    await assert.rejects(core.send(msg('$tmp.gone')), { code: 'ERR_ADDRESS_NOT_FOUND' });
    for (const name of ['$sub.x', '$retained', 'mqtt.a.b', 'mqtt-share.g.f', 'route.r.replies.1']) {
      await assert.rejects(core.send(msg(name)), { code: 'ERR_ADDRESS_RESERVED' }, name);
      assert.equal(core.getQueue(name), undefined);
    }
    const tmp = core.createTemporaryQueue('t1', amqp1);
    await core.send(msg(tmp.name));
    assert.equal(tmp.messageCount, 1);
  });

  test("a temporary queue is consumed, browsed and purged only by its own connection", async () => {
    const core = await openCore();
    const tmp = core.createTemporaryQueue('t2', amqp1);
    for (const origin of [amqp2, stomp1, mqtt, route]) {
      await assert.rejects(core.createConsumer({ destination: queue(tmp.name), sink: new Collector(), origin }), { code: 'ERR_ADDRESS_RESERVED' });
      assert.throws(() => core.browser(tmp.name, origin), { code: 'ERR_ADDRESS_RESERVED' });
      await assert.rejects(core.purge(tmp.name, origin), { code: 'ERR_ADDRESS_RESERVED' });
    }
    const c = await core.createConsumer({ destination: queue(tmp.name), sink: new Collector(), origin: amqp1 });
    c.close();
    // The broker itself (no origin) may do anything.
    assert.deepEqual(core.browser(tmp.name).next(10), []);
  });

  test('subscription names under a reserved prefix belong to their component, whatever client id makes them', async () => {
    const core = await openCore();
    const spec = { name: 'a', clientId: 'mqtt.dev', durable: true };
    const owner = await core.createConsumer({ destination: topic('t.a'), sink: new Collector(), subscription: spec, origin: mqtt });
    owner.close();
    await assert.rejects(core.createConsumer({ destination: topic('t.a'), sink: new Collector(), subscription: spec, origin: stomp1 }), { code: 'ERR_ADDRESS_RESERVED' });
    await assert.rejects(core.createConsumer({ destination: topic('t.a'), sink: new Collector(), subscription: { name: 'mqtt.dev.a', durable: false, shared: true }, origin: amqp1 }), { code: 'ERR_ADDRESS_RESERVED' });
    await assert.rejects(core.createConsumer({ destination: queue('mqtt.dev.a'), sink: new Collector(), origin: stomp1 }), { code: 'ERR_ADDRESS_RESERVED' });
    await assert.rejects(core.deleteSubscription('a', 'mqtt.dev', stomp1), { code: 'ERR_ADDRESS_RESERVED' });
    await assert.rejects(core.deleteSubscription('mqtt.dev.a', undefined, route), { code: 'ERR_ADDRESS_RESERVED' });
    assert.throws(() => core.assertMayConsume({ destination: topic('t.a'), subscription: spec, origin: amqp1 }), { code: 'ERR_ADDRESS_RESERVED' });
    await core.deleteSubscription('a', 'mqtt.dev', mqtt);
    assert.equal(core.getQueue('mqtt.dev.a'), undefined);
    // Routes make their own names.
    const r = await core.createConsumer({ destination: queue('route.r1.replies.1'), sink: new Collector(), origin: route });
    r.close();
    await assert.rejects(core.createConsumer({ destination: queue('route.r1.replies.1'), sink: new Collector(), origin: stomp1 }), { code: 'ERR_ADDRESS_RESERVED' });
  });

  test("a temporary topic reaches its owner's subscriptions only, never a wildcard one", async () => {
    const core = await openCore();
    const name = core.createTemporaryTopic('tt', amqp1);
    const mine = new Collector();
    const all = new Collector();
    (await core.createConsumer({ destination: topic(name), sink: mine, origin: amqp1 })).grant(10);
    (await core.createConsumer({ destination: topic('>'), sink: all, origin: stomp1 })).grant(10);
    await assert.rejects(core.createConsumer({ destination: topic(name), sink: new Collector(), origin: amqp2 }), { code: 'ERR_ADDRESS_RESERVED' });
    await assert.rejects(core.createConsumer({ destination: topic('$tmp.>'), sink: new Collector(), origin: amqp2 }), { code: 'ERR_ADDRESS_RESERVED' });
    await core.send({ destination: topic(name), body: Buffer.from('p'), durable: false });
    assert.equal(mine.deliveries.length, 1);
    assert.equal(all.deliveries.length, 0);
    core.deleteTemporaryTopic(name);
    await assert.rejects(core.send({ destination: topic(name), body: Buffer.from('p') }), { code: 'ERR_ADDRESS_NOT_FOUND' });
    assert.throws(() => core.assertAddress(topic(name)), { code: 'ERR_ADDRESS_NOT_FOUND' });
  });

  test('a delivery time beyond maxScheduledDelay (or not a number) is refused with ERR_SCHEDULE_TOO_FAR', async () => {
    let now = 1_000_000;
    const core = await openCore({ maxScheduledDelay: 60_000, now: () => now });
    await assert.rejects(core.send({ ...msg('s'), deliveryTime: now + 60_001 }), { code: 'ERR_SCHEDULE_TOO_FAR' });
    await assert.rejects(core.send({ ...msg('s'), deliveryTime: Number.NaN }), { code: 'ERR_SCHEDULE_TOO_FAR' });
    assert.throws(() => core.sendNow({ ...msg('s', false), deliveryTime: now + 120_000 }), { code: 'ERR_SCHEDULE_TOO_FAR' });
    await core.send({ ...msg('s'), deliveryTime: now + 60_000 });
    now += 1;
    assert.equal(core.queueStats().find((q) => q.name === 's')!.scheduled, 1);
  });

  test('moves to the dead-letter address are logged at info at most once a second, the rest at debug', async () => {
    const lines: Array<[string, string]> = [];
    const rec = (level: string) => (_obj: object, msg?: string) => void lines.push([level, msg ?? '']);
    const now = 1_000_000;
    const core = await openCore({ log: { debug: rec('debug'), info: rec('info'), warn: rec('warn'), error: rec('error') }, now: () => now });
    const sink = new Collector();
    const c = await core.createConsumer({ destination: queue('poison'), sink });
    for (let i = 0; i < 100; i++) await core.send(msg('poison', false));
    c.grant(100);
    await Promise.all(sink.deliveries.map((d) => c.nack(d.id, { deadLetter: true, cause: 'poison' })));
    const moved = lines.filter(([, m]) => m === 'message moved');
    assert.equal(moved.length, 100);
    assert.equal(moved.filter(([level]) => level === 'info').length, 1);
  });

  test('a purge removes what the queue held when it began, in slices; a deleted queue gives its bytes back', async () => {
    const core = await openCore();
    for (let i = 0; i < 5000; i++) core.sendNow(msg('p', false));
    const before = core.brokerStats().memoryBytes;
    assert.ok(before > 0);
    const purge = core.purge('p');
    // Arrives while the purge runs: stays.
    core.sendNow(msg('p', false));
    assert.equal(await purge, 5000);
    assert.equal(core.getQueue('p')!.messageCount, 1);
    await core.deleteQueue(core.getQueue('p')!);
    assert.equal(core.brokerStats().memoryBytes, 0);
  });
});
