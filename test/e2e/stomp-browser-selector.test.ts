import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { AmqpTestClient } from '../helpers/amqp-client.ts';
import { assertServed, watchAttack } from '../helpers/attack.ts';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { RawStomp } from '../helpers/raw-stomp.ts';
import { bodies, connectFor, stats } from '../helpers/stompjs.ts';

// A STOMP queue browser (`browser:true`) with a `selector` header shows only the messages the selector
// matches, as ActiveMQ's does (the selector is set on the browser's consumer), and consumes nothing.

describe('STOMP queue browser with a selector (stompjs over TCP)', () => {
  let broker: TestBroker;
  before(async () => {
    broker = await startBroker();
  });
  after(() => broker.stop());

  test('a browser with a selector gets only the matching messages and leaves every message queued', async (t) => {
    const c = await connectFor(t, broker);
    // 600 messages span several of the browser's batches (256); one in three is red.
    const sent: string[] = [];
    for (let i = 0; i < 600; i++) {
      const color = i % 3 === 0 ? 'red' : 'blue';
      sent.push(`${color}-${i}`);
      await c.send('/queue/q.browse.sel', `${color}-${i}`, { color });
    }
    const red = sent.filter((b) => b.startsWith('red-'));
    const browser = await c.subscribe('/queue/q.browse.sel', { browser: 'true', selector: "color = 'red'" });
    const seen = await browser.take(red.length + 1);
    assert.deepEqual(bodies(seen.slice(0, red.length)), red);
    assert.ok(seen.slice(0, red.length).every((m) => m.headers.color === 'red'));
    assert.equal(seen[red.length]!.headers.browser, 'end');
    await browser.expectNone();
    assert.equal(stats(broker, 'q.browse.sel').messages, 600, 'browsing consumed nothing');
    assert.equal(stats(broker, 'q.browse.sel').acked, 0);
  });

  test('a browser whose selector matches nothing gets only browser:end', async (t) => {
    const c = await connectFor(t, broker);
    for (const b of ['one', 'two']) await c.send('/queue/q.browse.none', b, { color: 'blue' });
    const browser = await c.subscribe('/queue/q.browse.none', { browser: 'true', selector: "color = 'green'" });
    const seen = await browser.take(1);
    assert.equal(seen[0]!.headers.browser, 'end');
    await browser.expectNone();
    assert.equal(stats(broker, 'q.browse.none').messages, 2);
  });

  test('a browser with the costliest selector within the limits over long AMQP properties: the broker keeps serving', async () => {
    // One evaluation of a 256-character LIKE stretch with `_` against a 65,536-character property
    // costs ~2-4 ms (selectors.maxLikeValueLength): a browse batch of 256 evaluated in one turn held
    // the event loop ~0.8 s. The cursor now evaluates for about 10 ms a call.
    const amqp = await AmqpTestClient.connect(broker.ports.amqp!);
    const browserConn = await RawStomp.connect(broker.ports.stomp!, undefined, { timeout: 60_000 });
    try {
      const s = await amqp.sender('q.browse.costly');
      const miss = 'a'.repeat(65_536);
      for (let i = 0; i < 300; i++) await amqp.send(s, { body: `miss-${i}`, application_properties: { p: miss } }, 30_000);
      await amqp.send(s, { body: 'hit', application_properties: { p: `${'a'.repeat(254)}xb` } });
      const w = await watchAttack({ stompPort: broker.ports.stomp! });
      await w.roundTrips(1);
      browserConn.send('SUBSCRIBE', { id: 'b', destination: '/queue/q.browse.costly', browser: 'true', selector: `p LIKE '%${'a'.repeat(254)}_b%'` });
      const first = await browserConn.nextFrame();
      assert.equal(first.text, 'hit');
      assert.equal((await browserConn.nextFrame()).header('browser'), 'end');
      await w.roundTrips(2);
      assertServed(await w.stop(), { maxLagMs: 400 });
      assert.equal(stats(broker, 'q.browse.costly').messages, 301, 'browsing consumed nothing');
    } finally {
      browserConn.destroy();
      await amqp.close();
    }
  });

  test('a browser with a selector that does not parse gets an ERROR', async (t) => {
    const c = await connectFor(t, broker);
    c.client.subscribe('/queue/q.browse.bad', () => {}, { browser: 'true', selector: 'color = ' });
    const err = await c.nextError();
    assert.match(err.headers.message ?? '', /selector/i);
  });
});
