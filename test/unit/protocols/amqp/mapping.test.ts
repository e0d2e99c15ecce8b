import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import rhea from 'rhea';
import type { Delivery } from '../../../../src/core/handles.ts';
import type { Message, MessageInput } from '../../../../src/core/message.ts';
import { amqpFromDelivery, messageFromAmqp } from '../../../../src/protocols/amqp/mapping.ts';
import { idToString, PROP_ANNOTATIONS, PROP_BODY } from '../../../../src/interop/amqp-message.ts';

const NOW = 1_750_000_000_000;

function inbound(m: Record<string, unknown>, destination: MessageInput['destination'] | null = { type: 'queue', name: 'q' }): MessageInput {
  const raw = rhea.message.encode(m as unknown as rhea.Message);
  return messageFromAmqp(rhea.message.decode(raw) as unknown as Record<string, unknown>, raw, { destination: destination ?? undefined, now: NOW });
}

/** What the core would hold, then deliver. */
function deliver(input: MessageInput, deliveryCount = 1): rhea.Message {
  const m: Message = {
    id: input.id ?? 'ID:test-1',
    timestamp: input.timestamp ?? NOW,
    priority: input.priority ?? 4,
    expiration: input.expiration ?? 0,
    durable: input.durable ?? false,
    bodyType: input.bodyType ?? 'bytes',
    properties: input.properties ?? {},
    ...input,
  } as Message;
  const d: Delivery = { id: 1, message: m, deliveryCount, redelivered: deliveryCount > 1, queue: 'q' };
  return rhea.message.decode(amqpFromDelivery(d, NOW)) as unknown as rhea.Message;
}

describe('AMQP -> core', () => {
  test('bodies: data = bytes, string amqp-value = text, other values kept encoded with a marker', () => {
    const bytes = inbound({ body: rhea.message.data_section(Buffer.from([0, 255])) });
    assert.equal(bytes.bodyType, 'bytes');
    assert.deepEqual([...bytes.body], [0, 255]);
    const text = inbound({ body: 'héllo' });
    assert.equal(text.bodyType, 'text');
    assert.equal(text.body.toString('utf8'), 'héllo');
    const map = inbound({ body: { a: 1 } });
    assert.equal(map.properties?.[PROP_BODY], 'value');
    assert.equal(map.body[0], 0x00, 'the encoded amqp-value section');
    const seq = inbound({ body: rhea.message.sequence_section([1, 2]) });
    assert.equal(seq.properties?.[PROP_BODY], 'sequence');
  });

  test('header and properties map to the core fields', () => {
    const m = inbound({
      durable: true,
      priority: 7,
      ttl: 5000,
      message_id: 'm-1',
      user_id: Buffer.from('alice'),
      subject: 'kind',
      reply_to: 'topic://replies',
      correlation_id: 'c-1',
      content_type: 'application/json',
      creation_time: new Date(NOW - 10),
      group_id: 'g',
      group_sequence: 3,
      application_properties: { s: 'x', n: 1.5, b: false },
      body: 'x',
    });
    assert.equal(m.durable, true);
    assert.equal(m.priority, 7);
    assert.equal(m.expiration, NOW + 5000);
    assert.equal(m.id, 'm-1');
    assert.equal(m.userId, 'alice');
    assert.equal(m.type, 'kind');
    assert.deepEqual(m.replyTo, { type: 'topic', name: 'replies' });
    assert.equal(m.correlationId, 'c-1');
    assert.equal(m.contentType, 'application/json');
    assert.equal(m.timestamp, NOW - 10);
    assert.equal(m.groupId, 'g');
    assert.equal(m.groupSeq, 3);
    assert.deepEqual({ s: m.properties!.s, n: m.properties!.n, b: m.properties!.b }, { s: 'x', n: 1.5, b: false });
  });

  test('absolute-expiry-time wins over ttl; x-opt-delivery-time and -delay schedule', () => {
    assert.equal(inbound({ ttl: 10, absolute_expiry_time: new Date(NOW + 99), body: 'x' }).expiration, NOW + 99);
    assert.equal(inbound({ message_annotations: { 'x-opt-delivery-delay': 250 }, body: 'x' }).deliveryTime, NOW + 250);
    assert.equal(inbound({ message_annotations: { 'x-opt-delivery-time': new Date(NOW + 1000) }, body: 'x' }).deliveryTime, NOW + 1000);
    assert.equal(typeof inbound({ message_annotations: { a: 1 }, body: 'x' }).properties?.[PROP_ANNOTATIONS], 'string');
  });

  test('the anonymous relay takes the destination from to, and refuses a message without one', () => {
    assert.deepEqual(inbound({ to: 'topic://a.b', body: 'x' }, null).destination, { type: 'topic', name: 'a.b' });
    assert.deepEqual(inbound({ to: 'queue://c', body: 'x' }, null).destination, { type: 'queue', name: 'c' });
    assert.throws(() => inbound({ body: 'x' }, null), { code: 'ERR_AMQP_NO_ADDRESS' });
  });

  test('uuid, ulong and binary ids become prefixed strings (Qpid JMS style) and go back as they were', () => {
    const uuid = rhea.string_to_uuid('0f8fad5b-d9cb-469f-a165-70867728950e');
    assert.equal(idToString(uuid), 'AMQP_UUID:0f8fad5b-d9cb-469f-a165-70867728950e');
    assert.equal(idToString(42), 'AMQP_ULONG:42');
    assert.equal(idToString(Buffer.from([1, 2])), 'AMQP_BINARY:0102');
    const out = deliver(inbound({ message_id: 42, correlation_id: uuid, body: 'x' }));
    assert.equal(out.message_id, 42);
    assert.ok(Buffer.isBuffer(out.correlation_id) && (out.correlation_id as Buffer).equals(uuid));
  });
});

describe('core -> AMQP', () => {
  test('AMQP -> AMQP keeps header, properties, annotations, typed application properties and the body', () => {
    const sent = {
      durable: true,
      priority: 2,
      message_id: 'keep-1',
      subject: 's',
      content_type: 'text/plain',
      group_id: 'g1',
      reply_to: 'replies',
      message_annotations: { 'x-opt-jms-msg-type': 5, 'x-opt-custom': 'c' },
      application_properties: { when: new Date(NOW), blob: Buffer.from([9]), big: 2 ** 40, i: 3, s: 'str' },
      body: [1, 'two', { three: 3 }],
    };
    const out = deliver(inbound(sent));
    assert.equal(out.durable, true);
    assert.equal(out.priority, 2);
    assert.equal(out.message_id, 'keep-1');
    assert.equal(out.subject, 's');
    assert.equal(out.content_type, 'text/plain');
    assert.equal(out.group_id, 'g1');
    assert.equal(out.reply_to, 'replies');
    assert.deepEqual(out.message_annotations, { 'x-opt-jms-msg-type': 5, 'x-opt-custom': 'c' });
    assert.equal((out.application_properties!.when as Date).getTime(), NOW);
    assert.ok((out.application_properties!.blob as Buffer).equals(Buffer.from([9])));
    assert.equal(out.application_properties!.big, 2 ** 40);
    assert.equal(out.application_properties!.s, 'str');
    assert.deepEqual(out.body, [1, 'two', { three: 3 }]);
  });

  test('the delivery count is the core count minus one; ttl is what is left', () => {
    const out = deliver({ destination: { type: 'queue', name: 'q' }, body: Buffer.from('x'), bodyType: 'text', expiration: NOW + 500 }, 3);
    assert.equal(out.delivery_count, 2);
    assert.equal(out.first_acquirer, false);
    assert.equal(out.ttl, 500);
    assert.equal(out.body, 'x');
  });

  test('messages from other protocols: bytes as a data section, text as a string, properties as int/long/double/string/boolean', () => {
    const out = deliver({ destination: { type: 'topic', name: 't.a' }, body: Buffer.from([1, 2]), bodyType: 'bytes', properties: { i: 7, l: 2 ** 33, d: 0.5, s: 'x', b: true } });
    assert.ok((out.body as { content: Buffer }).content.equals(Buffer.from([1, 2])));
    assert.equal(out.to, 'topic://t.a');
    assert.equal(out.message_annotations, undefined, 'no annotations are made up');
    assert.deepEqual(out.application_properties, { i: 7, l: 2 ** 33, d: 0.5, s: 'x', b: true });
    const raw = amqpFromDelivery({ id: 1, deliveryCount: 1, redelivered: false, queue: 'q', message: { id: 'i', destination: { type: 'queue', name: 'q' }, body: Buffer.alloc(0), bodyType: 'bytes', durable: false, priority: 4, expiration: 0, timestamp: NOW, properties: { i: 7 } } }, NOW);
    // int 7 is encoded as an AMQP int (0x54 smallint or 0x71 int), not rhea's default uint.
    assert.ok(raw.includes(Buffer.from([0xa1, 1, 0x69, 0x54, 7])) || raw.includes(Buffer.from([0xa1, 1, 0x69, 0x71, 0, 0, 0, 7])));
  });
});

describe('section encoder', () => {
  test('every property field, long strings and long bodies decode as rhea reads them', () => {
    const long = 'x'.repeat(300);
    const out = deliver({
      destination: { type: 'queue', name: 'q' },
      id: 'ID:' + long,
      body: Buffer.alloc(1000, 3),
      bodyType: 'bytes',
      durable: true,
      priority: 9,
      expiration: NOW + 1234,
      userId: 'bob',
      type: long,
      replyTo: { type: 'topic', name: 'r' },
      correlationId: 'corr',
      contentType: 'application/x',
      groupId: 'g',
      groupSeq: 70000,
      properties: { JMS_AMQP_CONTENT_ENCODING: 'gzip', JMS_AMQP_REPLY_TO_GROUP_ID: 'rg' },
    }, 2);
    assert.equal(out.durable, true);
    assert.equal(out.priority, 9);
    assert.equal(out.ttl, 1234);
    assert.equal(out.delivery_count, 1);
    assert.equal(out.message_id, 'ID:' + long);
    assert.ok(Buffer.isBuffer(out.user_id) && (out.user_id as Buffer).toString() === 'bob');
    assert.equal(out.to, 'q');
    assert.equal(out.subject, long);
    assert.equal(out.reply_to, 'topic://r');
    assert.equal(out.correlation_id, 'corr');
    assert.equal(out.content_type, 'application/x');
    assert.equal(out.content_encoding, 'gzip');
    assert.equal((out.absolute_expiry_time as Date).getTime(), NOW + 1234);
    assert.equal((out.creation_time as Date).getTime(), NOW);
    assert.equal(out.group_id, 'g');
    assert.equal(out.group_sequence, 70000);
    assert.equal(out.reply_to_group_id, 'rg');
    assert.ok((out.body as { content: Buffer }).content.equals(Buffer.alloc(1000, 3)));
    assert.equal(deliver({ destination: { type: 'queue', name: 'q' }, body: Buffer.from(long), bodyType: 'text' }).body, long);
  });
});
