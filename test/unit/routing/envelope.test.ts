import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Message } from '../../../src/core/message.ts';
import { PROP_REPLY_TO } from '../../../src/interop/amqp-message.ts';
import { fromCoreMessage, fromMessageInput, toCoreMessage } from '../../../src/routing/endpoints/envelope.ts';

/** Every field a core message has: a field added to Message fails to compile here until it is listed. */
function full(): Required<Message> {
  return {
    id: 'ID:m-1',
    destination: { type: 'queue', name: 'in' },
    body: Buffer.from('hello'),
    bodyType: 'text',
    durable: true,
    priority: 7,
    expiration: 1_700_000_060_000,
    timestamp: 1_700_000_000_000,
    correlationId: 'corr-1',
    replyTo: { type: 'topic', name: 'replies' },
    type: 'order.created',
    contentType: 'text/plain',
    groupId: 'g-1',
    groupSeq: 3,
    userId: 'alice',
    deliveryTime: 1_700_000_000_500,
    originalDestination: { type: 'queue', name: 'first' },
    properties: { s: 'text', n: 42, b: true, z: null },
  };
}

describe('routing envelope <-> core message', () => {
  test('every field of a core message survives a route (all but the id and timestamp the target gives)', () => {
    const m = full();
    const ex = fromCoreMessage(m);
    assert.equal(ex.messageId, m.id);
    assert.equal(ex.timestamp, m.timestamp);
    assert.equal(ex.destination, 'queue:in');
    assert.equal(ex.replyTo, 'topic:replies');
    assert.equal(ex.originalDestination, 'queue:first');
    const { id: _id, timestamp: _ts, ...expected } = m;
    assert.deepEqual(toCoreMessage(ex, m.destination), expected);
  });

  test('headers are the exchange own copy: changing them changes neither the core message nor what was sent', () => {
    const m = full();
    const ex = fromCoreMessage(m);
    const sent = toCoreMessage(ex, m.destination);
    ex.headers.s = 'changed';
    assert.equal(m.properties.s, 'text');
    assert.equal(sent.properties!.s, 'text');
  });

  test('a reply-to that is no broker address stays a property; expiration 0 (never) is not carried', () => {
    const ex = fromCoreMessage({ ...full(), expiration: 0 });
    assert.equal('expiration' in ex, false);
    ex.replyTo = 'replies-on-the-remote';
    const input = toCoreMessage(ex, { type: 'queue', name: 'out' });
    assert.equal(input.replyTo, undefined);
    assert.equal(input.properties![PROP_REPLY_TO], 'replies-on-the-remote');
  });

  test('a remote message keeps its fields, with the endpoint URI and the remote reply-to as given', () => {
    const ex = fromMessageInput({ destination: { type: 'queue', name: '' }, body: Buffer.from('x'), priority: 2, expiration: 5, userId: 'bob', id: 'r-1', properties: { a: 1 } }, 'amqp://h:5672/in', 'queue://r', 99);
    assert.deepEqual(ex, { body: Buffer.from('x'), bodyType: 'bytes', headers: { a: 1 }, durable: false, destination: 'amqp://h:5672/in', timestamp: 99, messageId: 'r-1', priority: 2, expiration: 5, userId: 'bob', replyTo: 'queue://r' });
  });
});
