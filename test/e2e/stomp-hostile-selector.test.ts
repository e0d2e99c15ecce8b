import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import rhea from 'rhea';
import { AmqpTestClient } from '../helpers/amqp-client.ts';
import { assertServed, watchAttack } from '../helpers/attack.ts';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { RawStomp } from '../helpers/raw-stomp.ts';

/**
 * Issue 11, item 4: a hostile selector must not freeze the broker. A 4,000-character
 * `p LIKE '%a…a_b%'` against a 9,000-character property cost the old two-pointer matcher about
 * 36 million steps per message, and every queued message that did not match was evaluated again on
 * each later send; a selector of 100k nested parentheses or a huge IN list must be refused with the
 * protocol's invalid-selector error, not blow the stack.
 */

/** `%` + 3,997 `a`s + `_b%`: the worst case of the two-pointer matcher against a run of `a`s. */
const PATTERN = `%${'a'.repeat(3997)}_b%`;
const SELECTOR = `p LIKE '${PATTERN}'`;
const VALUE = 'a'.repeat(9000);

describe('hostile selectors, default limits', () => {
  let broker: TestBroker;
  before(async () => {
    broker = await startBroker({ store: { type: 'memory' } });
  });
  after(async () => {
    await broker.stop();
  });

  test("the issue's 4,000-character LIKE stretch with _ is refused at SUBSCRIBE (selectors.maxLikeSegment)", async () => {
    const c = await RawStomp.connect(broker.ports.stomp!);
    c.send('SUBSCRIBE', { id: 'like', destination: '/queue/hostile.refused', selector: SELECTOR, receipt: 'r1' });
    const f = await c.nextFrame();
    assert.equal(f.command, 'ERROR');
    assert.match(f.header('message') ?? '', /^Invalid selector/);
    assert.match(f.text, /at most 256.* at position 7/);
    await c.closed();
  });

  test('the worst pattern within the limits against 9,000 a: non-matching messages pile up, the broker keeps serving', async () => {
    const attacker = await RawStomp.connect(broker.ports.stomp!, undefined, { timeout: 60_000 });
    const producer = await RawStomp.connect(broker.ports.stomp!, undefined, { timeout: 60_000 });
    const w = await watchAttack({ stompPort: broker.ports.stomp! });
    try {
      const pattern = `%${'a'.repeat(253)}_b%`;
      await attacker.request('SUBSCRIBE', { id: 'like', destination: '/queue/hostile.within', ack: 'client-individual', selector: `p LIKE '${pattern}'` });
      for (let i = 0; i < 200; i++) await producer.request('SEND', { destination: '/queue/hostile.within', p: VALUE }, `miss-${i}`);
      await producer.request('SEND', { destination: '/queue/hostile.within', p: `${'a'.repeat(253)}xb` }, 'hit');
      const got = await attacker.nextFrame();
      assert.equal(got.text, 'hit');
      await w.roundTrips(5);
      assertServed(await w.stop());
    } finally {
      attacker.destroy();
      producer.destroy();
    }
  });
  test('AMQP messages with a 1M- and a 2M-character property against the worst LIKE within the limits', async () => {
    const attacker = await RawStomp.connect(broker.ports.stomp!, undefined, { timeout: 60_000 });
    const amqp = await AmqpTestClient.connect(broker.ports.amqp!);
    const w = await watchAttack({ stompPort: broker.ports.stomp! });
    try {
      const pattern = `%${'a'.repeat(253)}_b%`;
      await attacker.request('SUBSCRIBE', { id: 'like', destination: '/queue/hostile.big', ack: 'auto', selector: `p LIKE '${pattern}'` });
      const s = await amqp.sender('hostile.big');
      for (const n of [1_000_000, 2_000_000]) {
        const outcome = await amqp.send(s, { body: `huge-${n}`, application_properties: { p: 'a'.repeat(n) } }, 60_000);
        assert.equal(outcome.state, 'accepted');
      }
      // Over selectors.maxLikeValueLength (65,536 for one LIKE) LIKE is UNKNOWN: even a matching 2M value is not delivered.
      const outcome = await amqp.send(s, { body: 'long-match', application_properties: { p: `${'a'.repeat(2_000_000)}xb` } }, 60_000);
      assert.equal(outcome.state, 'accepted');
      await amqp.send(s, { body: 'hit', application_properties: { p: `${'a'.repeat(253)}xb` } });
      const got = await attacker.nextFrame();
      assert.equal(got.text, 'hit');
      await w.roundTrips(5);
      assertServed(await w.stop());
    } finally {
      attacker.destroy();
      await amqp.close();
    }
  });

  test("fifteen OR'd LIKEs each within the old per-LIKE limit are refused at SUBSCRIBE (the _ budget is per selector)", async () => {
    // Issue 11 review: 15 × `%a…a_b%` (256 characters each with '_') passed a per-pattern limit;
    // one 1M-character AMQP property then blocked the loop ~0.6 s per subscriber.
    const like = `p LIKE '%${'a'.repeat(254)}_b%'`;
    const selector = Array.from({ length: 15 }, () => like).join(' OR ');
    const c = await RawStomp.connect(broker.ports.stomp!);
    c.send('SUBSCRIBE', { id: 'likes', destination: '/topic/hostile.likes', selector, receipt: 'r1' });
    const f = await c.nextFrame();
    assert.equal(f.command, 'ERROR');
    assert.match(f.header('message') ?? '', /^Invalid selector/);
    assert.match(f.text, new RegExp(`at most 256 in one selector\\) at position ${like.length + 4 + 7}`));
    await c.closed();
  });

  test('a long AMQP property against 20 topic subscribers with the costliest selector within the limits: bystander served', async () => {
    // 16 LIKEs (selectors.maxLikes), 8 with a 32-character '_' stretch (the 256 budget) and 8 long
    // literals: before the per-selector value budget each read the whole 1M value, ~0.1-0.2 s per
    // subscriber, all 20 synchronously in one topic send. Now they share 65,536 characters.
    const withUnderscore = Array.from({ length: 8 }, (_, i) => `p LIKE '%${'a'.repeat(30)}_${i}%'`);
    const literal = Array.from({ length: 8 }, (_, i) => `p LIKE '%${'a'.repeat(200)}${i}%'`);
    const selector = [...withUnderscore, ...literal].join(' OR ');
    const subscriber = await RawStomp.connect(broker.ports.stomp!, undefined, { timeout: 60_000 });
    const amqp = await AmqpTestClient.connect(broker.ports.amqp!);
    try {
      for (let i = 0; i < 20; i++) {
        await subscriber.request('SUBSCRIBE', { id: `s${i}`, destination: '/topic/hostile.fanout', ack: 'auto', selector });
      }
      const s = await amqp.sender('topic://hostile.fanout');
      const w = await watchAttack({ stompPort: broker.ports.stomp! });
      for (let i = 0; i < 3; i++) {
        const outcome = await amqp.send(s, { body: `long-${i}`, application_properties: { p: 'a'.repeat(1_048_000) } }, 60_000);
        assert.equal(outcome.state, 'accepted');
      }
      await w.roundTrips(5);
      assertServed(await w.stop(), { maxLagMs: 1500 });
      // A short matching value still reaches every subscription (LIKE works within the budget).
      await amqp.send(s, { body: 'hit', application_properties: { p: `x${'a'.repeat(30)}y7z` } });
      for (let i = 0; i < 20; i++) assert.equal((await subscriber.nextFrame()).text, 'hit');
    } finally {
      subscriber.destroy();
      await amqp.close();
    }
  });
});

/**
 * With the LIKE limit lifted (and STOMP's header limit raised so that 100k parentheses reach the
 * selector parser), the matcher and the once-per-consumer evaluation alone must keep the broker
 * serving. Before the fix the first test took 62 s and the bystander waited 3 s for one message.
 */
describe('hostile selectors, limits lifted', () => {
  let broker: TestBroker;
  before(async () => {
    broker = await startBroker({ store: { type: 'memory' }, stomp: { maxHeaderBytes: 1024 * 1024 }, selectors: { maxLikeSegment: 4096 } });
  });
  after(async () => {
    await broker.stop();
  });

  test('a worst-case LIKE consumer on a queue of non-matching messages does not freeze the broker', async () => {
    const attacker = await RawStomp.connect(broker.ports.stomp!, undefined, { timeout: 60_000 });
    const producer = await RawStomp.connect(broker.ports.stomp!, undefined, { timeout: 60_000 });
    const w = await watchAttack({ stompPort: broker.ports.stomp! });
    try {
      await attacker.request('SUBSCRIBE', { id: 'like', destination: '/queue/hostile.like', ack: 'client-individual', selector: SELECTOR });
      // Every send adds one more non-matching message; before the fix each send re-evaluated all of them.
      const sends = 40;
      for (let i = 0; i < sends; i++) await producer.request('SEND', { destination: '/queue/hostile.like', p: VALUE }, `miss-${i}`);
      // The selector still works: a message that does match reaches the attacker's consumer.
      await producer.request('SEND', { destination: '/queue/hostile.like', p: `${'a'.repeat(3997)}xb` }, 'hit');
      const got = await attacker.nextFrame();
      assert.equal(got.command, 'MESSAGE');
      assert.equal(got.text, 'hit');
      await w.roundTrips(5);
      assertServed(await w.stop());
      const stats = broker.core.queueStats().find((s) => s.name === 'hostile.like')!;
      assert.equal(stats.messages, sends + 1, 'the non-matching messages stay queued, none lost');
    } finally {
      attacker.destroy();
      producer.destroy();
    }
  });

  test('a worst-case LIKE consumer subscribing to a queue of 3,000 messages: the scan yields, each message is evaluated once', async () => {
    const producer = await RawStomp.connect(broker.ports.stomp!, undefined, { timeout: 60_000 });
    const attacker = await RawStomp.connect(broker.ports.stomp!, undefined, { timeout: 60_000 });
    try {
      const value = 'a'.repeat(2000);
      const backlog = 3000;
      for (let i = 0; i < backlog - 1; i++) producer.send('SEND', { destination: '/queue/hostile.long', p: value }, `old-${i}`);
      await producer.request('SEND', { destination: '/queue/hostile.long', p: value }, 'old-last');
      const w = await watchAttack({ stompPort: broker.ports.stomp! });
      // Before the fix the first dispatch evaluated all 3,000 in one turn, then again on every send.
      await attacker.request('SUBSCRIBE', { id: 'like', destination: '/queue/hostile.long', ack: 'client-individual', selector: SELECTOR });
      for (let i = 0; i < 20; i++) await producer.request('SEND', { destination: '/queue/hostile.long', p: value }, `new-${i}`);
      await producer.request('SEND', { destination: '/queue/hostile.long', p: `${'a'.repeat(3997)}xb` }, 'hit');
      const got = await attacker.nextFrame();
      assert.equal(got.text, 'hit');
      await w.roundTrips(5);
      assertServed(await w.stop());
    } finally {
      attacker.destroy();
      producer.destroy();
    }
  });

  test('100k nested parentheses in a SUBSCRIBE selector: ERROR naming the position, broker serving', async () => {
    const w = await watchAttack({ stompPort: broker.ports.stomp! });
    const c = await RawStomp.connect(broker.ports.stomp!);
    const selector = `${'('.repeat(100_000)}a = 1${')'.repeat(100_000)}`;
    c.send('SUBSCRIBE', { id: 'deep', destination: '/queue/hostile.deep', selector, receipt: 'r1' });
    const f = await c.nextFrame();
    assert.equal(f.command, 'ERROR');
    assert.match(f.header('message') ?? '', /^Invalid selector/);
    assert.match(f.text, /position \d+/);
    await c.closed();
    await w.roundTrips(3);
    assertServed(await w.stop());
  });

  test('nesting within the length limit but beyond the depth limit: ERROR naming the position', async () => {
    const c = await RawStomp.connect(broker.ports.stomp!);
    const selector = `${'NOT '.repeat(500)}a = 1`;
    c.send('SUBSCRIBE', { id: 'deep', destination: '/queue/hostile.not', selector });
    const f = await c.nextFrame();
    assert.equal(f.command, 'ERROR');
    assert.match(f.header('message') ?? '', /^Invalid selector/);
    assert.match(f.text, /depth .* at position \d+/);
    await c.closed();
  });

  test('a huge IN list and deep nesting over AMQP: the link is refused with amqp:invalid-field', async () => {
    const w = await watchAttack({ stompPort: broker.ports.stomp! });
    const amqp = await AmqpTestClient.connect(broker.ports.amqp!);
    try {
      // Both within one AMQP frame (128 KiB), far over selectors.maxLength.
      const inList = `a IN (${Array.from({ length: 10_000 }, (_, i) => `'v${i}'`).join(',')})`;
      const refused1 = await amqp.refusedReceiver({ address: 'hostile.in', filter: rhea.filter.selector(inList) });
      assert.equal(refused1.condition, 'amqp:invalid-field');
      const deep = `${'('.repeat(30_000)}a = 1${')'.repeat(30_000)}`;
      const refused2 = await amqp.refusedReceiver({ address: 'hostile.in', filter: rhea.filter.selector(deep) });
      assert.equal(refused2.condition, 'amqp:invalid-field');
      // The connection is still usable: a sane selector attaches.
      const ok = await amqp.receiver({ address: 'hostile.in', filter: rhea.filter.selector("a IN ('v1', 'v2')") }, 1);
      assert.equal(ok.closed, false);
      await w.roundTrips(3);
      assertServed(await w.stop());
    } finally {
      await amqp.close();
    }
  });
});
