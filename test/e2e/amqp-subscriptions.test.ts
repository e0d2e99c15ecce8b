import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import rhea from 'rhea';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { AmqpTestClient, eventually } from '../helpers/amqp-client.ts';

// Durable and shared topic subscriptions over AMQP (Qpid JMS conventions: link name = subscription
// name, container-id = client id, durable source terminus with expiry-policy never).

let broker: TestBroker;
const clients: AmqpTestClient[] = [];

async function client(containerId: string, b: TestBroker = broker): Promise<AmqpTestClient> {
  const c = await AmqpTestClient.connect(b.ports.amqp!, { containerId });
  clients.push(c);
  return c;
}

const durableSource = (address: string, extra: Record<string, unknown> = {}) => ({ address, durable: 2, expiry_policy: 'never', capabilities: ['topic'], ...extra });

before(async () => {
  broker = await startBroker();
});
after(async () => {
  for (const c of clients) await c.close().catch(() => undefined);
  await broker.stop();
});

describe('durable subscriptions', () => {
  test('messages sent while the subscriber is detached wait; reattaching resumes', async () => {
    const sub = await client('app-1');
    const r = await sub.receiver(durableSource('topic://dur.news'), 10, { name: 'news-sub' });
    const pub = await client('pub-1');
    const s = await pub.sender('topic://dur.news');
    await pub.send(s, { body: 'first' });
    (await r.next()).delivery.accept();
    await sub.detachLink(r.link);
    await pub.send(s, { body: 'while-away-1', durable: true });
    await pub.send(s, { body: 'while-away-2', durable: true });
    const q = broker.core.getQueue('app-1.news-sub');
    assert.ok(q?.durable, 'a durable subscription queue named client id + link name');
    await eventually(() => q.messageCount === 2, `two waiting (${JSON.stringify(q.statistics())})`);
    await sub.close();
    const again = await client('app-1');
    const r2 = await again.receiver(durableSource('topic://dur.news'), 10, { name: 'news-sub' });
    const got = [await r2.next(), await r2.next()];
    assert.deepEqual(got.map((x) => x.message.body), ['while-away-1', 'while-away-2']);
    for (const x of got) x.delivery.accept();
  });

  test('detaching with closed=true deletes the subscription', async () => {
    const sub = await client('app-2');
    const r = await sub.receiver(durableSource('topic://dur.gone'), 10, { name: 'gone-sub' });
    assert.ok(broker.core.getQueue('app-2.gone-sub'));
    await sub.closeLink(r.link);
    await eventually(() => broker.core.getQueue('app-2.gone-sub') === undefined, 'the subscription to be deleted');
  });

  test('a JMS-style unsubscribe: attach by link name with no source, then close', async () => {
    const sub = await client('app-3');
    const r = await sub.receiver(durableSource('topic://dur.jms'), 0, { name: 'jms-sub' });
    await sub.detachLink(r.link);
    const lookup = await sub.receiver({}, 0, { name: 'jms-sub', allowNullSource: true, source: null });
    const remote = (lookup.link as unknown as { remote: { attach: { source: { address?: string } } } }).remote.attach.source;
    assert.equal(remote.address, 'topic://dur.jms', 'the broker answers with the existing subscription');
    await sub.closeLink(lookup.link);
    await eventually(() => broker.core.getQueue('app-3.jms-sub') === undefined, 'the subscription to be deleted');
  });

  test('a non-durable topic receiver gets nothing sent before it attached', async () => {
    const pub = await client('pub-2');
    const s = await pub.sender('topic://dur.volatile');
    await pub.send(s, { body: 'before' });
    const sub = await client('app-4');
    const r = await sub.receiver('topic://dur.volatile', 10);
    await pub.send(s, { body: 'after' });
    assert.equal((await r.next()).message.body, 'after');
  });
});

describe('shared subscriptions', () => {
  test('receivers with the shared capability and the same link name compete for messages', async () => {
    const a = await client('shared-a');
    const b = await client('shared-b');
    const src = { address: 'topic://shared.t', capabilities: ['topic', 'shared', 'global'], durable: 2, expiry_policy: 'never' };
    const r1 = await a.receiver(src, 100, { name: 'workers|global' });
    const r2 = await b.receiver(src, 100, { name: 'workers|global' });
    const pub = await client('pub-3');
    const s = await pub.sender('topic://shared.t');
    for (let i = 0; i < 10; i++) await pub.send(s, { body: `w${i}` });
    await eventually(() => r1.pending + r2.pending === 10, 'ten deliveries in all');
    assert.ok(r1.pending > 0 && r2.pending > 0, 'both shared consumers got some');
    const all = [...(await r1.drainFor(0)), ...(await r2.drainFor(0))];
    assert.equal(new Set(all.map((x) => x.message.body)).size, 10, 'each message once');
    for (const x of all) x.delivery.accept();
    assert.ok(broker.core.getQueue('workers')?.shared);
  });

  test('a non-durable shared subscription goes away with its last consumer', async () => {
    const a = await client('shared-c');
    const src = { address: 'topic://shared.v', capabilities: ['topic', 'shared'] };
    const r1 = await a.receiver(src, 10, { name: 'vol|volatile1' });
    const r2 = await a.receiver(src, 10, { name: 'vol|volatile2' });
    assert.ok(broker.core.getQueue('shared-c.vol'));
    await a.closeLink(r1.link);
    assert.ok(broker.core.getQueue('shared-c.vol'), 'still one consumer');
    await a.closeLink(r2.link);
    await eventually(() => broker.core.getQueue('shared-c.vol') === undefined, 'the shared subscription to go');
  });
});

describe('restart', () => {
  test('a durable subscription and its durable messages survive a broker restart (same data dir)', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'junction-amqp-restart-'));
    try {
      let b = await startBroker({ dataDir });
      let sub = await AmqpTestClient.connect(b.ports.amqp!, { containerId: 'restart-app' });
      const r = await sub.receiver(durableSource('topic://restart.t', { filter: rhea.filter.selector("kind = 'keep'") }), 0, { name: 'keeper' });
      await sub.detachLink(r.link);
      await sub.close();
      const pub = await AmqpTestClient.connect(b.ports.amqp!);
      const s = await pub.sender('topic://restart.t');
      await pub.send(s, { body: 'kept', durable: true, application_properties: { kind: 'keep' } });
      await pub.send(s, { body: 'filtered', durable: true, application_properties: { kind: 'drop' } });
      await pub.close();
      await b.stop();

      b = await startBroker({ dataDir });
      try {
        sub = await AmqpTestClient.connect(b.ports.amqp!, { containerId: 'restart-app' });
        const r2 = await sub.receiver(durableSource('topic://restart.t', { filter: rhea.filter.selector("kind = 'keep'") }), 10, { name: 'keeper' });
        const got = await r2.next();
        assert.equal(got.message.body, 'kept');
        assert.equal(got.message.durable, true);
        assert.equal(got.message.application_properties?.kind, 'keep');
        got.delivery.accept();
        await eventually(() => b.core.getQueue('restart-app.keeper')?.messageCount === 0, 'the ack');
        await sub.close();
      } finally {
        await b.stop();
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
