import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { StompFrame } from '../../../../src/protocols/stomp/frame.ts';
import { StompAcks, type AckedSubscription } from '../../../../src/protocols/stomp/stomp-acks.ts';

const sub = (id: string): AckedSubscription => ({ id, unacked: new Map(), byMessageId: new Map() });
const ack = (headers: Record<string, string>): StompFrame => ({ command: 'ACK', headers: Object.entries(headers), body: Buffer.alloc(0) });

test('StompAcks: 1.2 finds a delivery by its ack id, 1.0/1.1 by message-id (and subscription)', () => {
  const acks = new StompAcks<AckedSubscription>();
  const a = sub('a');
  const b = sub('b');
  const subs = new Map([
    ['a', a],
    ['b', b],
  ]);
  acks.delivered(a, 1, 'm1');
  acks.delivered(b, 2, 'm2');
  assert.deepEqual(acks.find(ack({ id: '2' }), '1.2', subs), { sub: b, deliveryId: 2 });
  assert.deepEqual(acks.find(ack({ 'message-id': 'm1' }), '1.1', subs), { sub: a, deliveryId: 1 });
  assert.throws(() => acks.find(ack({ 'message-id': 'm1', subscription: 'b' }), '1.0', subs), { code: 'ERR_DELIVERY_UNKNOWN' });
  assert.throws(() => acks.find(ack({}), '1.2', subs), { code: 'ERR_STOMP_MISSING_HEADER' });
  acks.forget(a, 1);
  assert.throws(() => acks.find(ack({ id: '1' }), '1.2', subs), { code: 'ERR_DELIVERY_UNKNOWN' });
});

test('StompAcks: cumulative acks count and settle up to the id, in delivery order; a closed subscription leaves the index', () => {
  const acks = new StompAcks<AckedSubscription>();
  const s = sub('s');
  for (let i = 1; i <= 5; i++) acks.delivered(s, i, `m${i}`);
  assert.equal(acks.countUpTo(s, 3), 3);
  assert.equal(s.unacked.size, 5, 'counting settles nothing');
  assert.equal(acks.forgetUpTo(s, 3), 3);
  assert.deepEqual([...s.unacked.keys()], [4, 5]);
  acks.settledBy(s, (id) => id === 5);
  assert.deepEqual([...s.unacked.keys()], [5]);
  acks.closed(s);
  assert.throws(() => acks.find(ack({ id: '5' }), '1.2', new Map([['s', s]])), { code: 'ERR_DELIVERY_UNKNOWN' });
});
