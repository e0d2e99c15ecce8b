import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { StompFrame, StompVersion } from '../../../../src/protocols/stomp/frame.ts';
import { parseSubscribe, type SubscribeContext } from '../../../../src/protocols/stomp/subscribe-request.ts';

function subscribe(headers: Record<string, string>): StompFrame {
  return { command: 'SUBSCRIBE', headers: Object.entries(headers), body: Buffer.alloc(0) };
}

function ctx(over: Partial<SubscribeContext> = {}): SubscribeContext & { admitted: string[] } {
  const admitted: string[] = [];
  return { version: '1.2' as StompVersion, clientId: undefined, defaultPrefetch: 10, maxPrefetch: 100, admit: (id) => void admitted.push(id), admitted, ...over };
}

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return (err as { code?: string }).code;
  }
  return undefined;
}

describe('parseSubscribe', () => {
  test('a plain queue subscription: defaults filled in, the id admitted', () => {
    const c = ctx();
    const req = parseSubscribe(subscribe({ destination: '/queue/a', id: 's1' }), c);
    assert.deepEqual(req, {
      id: 's1',
      destination: '/queue/a',
      dest: { type: 'queue', name: 'a' },
      ackMode: 'auto',
      prefetch: 10,
      selector: undefined,
      exclusive: false,
      browser: false,
      subscription: undefined,
    });
    assert.deepEqual(c.admitted, ['s1']);
  });

  test('ack mode, selector, exclusive, browser and a prefetch capped at the maximum', () => {
    const req = parseSubscribe(
      subscribe({ destination: '/queue/a', id: 's', ack: 'client-individual', selector: "c = 'x'", 'activemq.exclusive': 'true', browser: 'true', 'activemq.prefetchSize': '5000' }),
      ctx(),
    );
    assert.equal(req.ackMode, 'client-individual');
    assert.equal(req.selector, "c = 'x'");
    assert.equal(req.exclusive, true);
    assert.equal(req.browser, true);
    assert.equal(req.prefetch, 100);
  });

  test('durable and shared topic subscriptions', () => {
    const durable = parseSubscribe(subscribe({ destination: '/topic/t', id: 's', 'activemq.subscriptionName': 'd' }), ctx({ clientId: 'c1' }));
    assert.deepEqual(durable.subscription, { name: 'd', clientId: 'c1', durable: true, shared: false });
    const sharedDurable = parseSubscribe(subscribe({ destination: '/topic/t', id: 's', 'durable-subscription-name': 'd', 'shared-subscription-name': 'x' }), ctx({ clientId: 'c1' }));
    assert.deepEqual(sharedDurable.subscription, { name: 'd', clientId: 'c1', durable: true, shared: true });
    const shared = parseSubscribe(subscribe({ destination: '/topic/t', id: 's', 'shared-subscription-name': 'x' }), ctx());
    assert.deepEqual(shared.subscription, { name: 'x', durable: false, shared: true });
    const onQueue = parseSubscribe(subscribe({ destination: '/queue/q', id: 's', 'activemq.subscriptionName': 'd' }), ctx());
    assert.equal(onQueue.subscription, undefined, 'a durable name on a queue is ignored');
  });

  test('STOMP 1.0 lets the destination stand for the id; 1.1 and 1.2 require one', () => {
    assert.equal(parseSubscribe(subscribe({ destination: '/queue/a' }), ctx({ version: '1.0' })).id, '/queue/a');
    assert.equal(code(() => parseSubscribe(subscribe({ destination: '/queue/a' }), ctx({ version: '1.1' }))), 'ERR_STOMP_MISSING_HEADER');
  });

  test('refusals, in the order a client meets them', () => {
    assert.equal(code(() => parseSubscribe(subscribe({ id: 's' }), ctx())), 'ERR_STOMP_MISSING_HEADER');
    assert.equal(code(() => parseSubscribe(subscribe({ destination: 'a', id: 's' }), ctx())), 'ERR_ADDRESS_INVALID');
    assert.equal(code(() => parseSubscribe(subscribe({ destination: '/queue/a', id: 's', ack: 'sometimes' }), ctx())), 'ERR_STOMP_BAD_HEADER');
    assert.equal(code(() => parseSubscribe(subscribe({ destination: '/queue/a', id: 's', 'activemq.prefetchSize': '-1' }), ctx())), 'ERR_STOMP_BAD_HEADER');
    assert.equal(code(() => parseSubscribe(subscribe({ destination: '/queue/a', id: 's', 'activemq.prefetchSize': '1.5' }), ctx())), 'ERR_STOMP_BAD_HEADER');
    assert.equal(code(() => parseSubscribe(subscribe({ destination: '/topic/t', id: 's', 'activemq.subscriptionName': 'd' }), ctx())), 'ERR_STOMP_MISSING_HEADER');
    // Admission comes before the other headers: a taken id is reported even with a bad ack mode.
    const taken = ctx({
      admit: () => {
        throw Object.assign(new Error('taken'), { code: 'ERR_STOMP_PROTOCOL' });
      },
    });
    assert.equal(code(() => parseSubscribe(subscribe({ destination: '/queue/a', id: 's', ack: 'sometimes' }), taken)), 'ERR_STOMP_PROTOCOL');
  });
});
