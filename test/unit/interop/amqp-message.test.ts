import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import rhea from 'rhea';
import type { Message, MessageInput, PropertyValue } from '../../../src/core/message.ts';
import {
  amqpToCore,
  APP_RESERVED,
  APP_TYPED,
  applicationPropertiesToAmqp,
  applicationPropertiesToCore,
  bodyFromAmqp,
  coreToAmqp,
  idToAmqp,
  idToString,
  PROP_CONTENT_ENCODING,
  PROP_REPLY_TO,
  PROP_REPLY_TO_GROUP_ID,
  propertyToAmqp,
  type AmqpMessageIn,
} from '../../../src/interop/amqp-message.ts';

const NOW = 1_700_000_000_000;
const types = rhea.types;

/** A core message with every field set. */
function full(): Message {
  return {
    id: 'ID:m-1',
    destination: { type: 'queue', name: 'orders' },
    body: Buffer.from('hello'),
    bodyType: 'text',
    durable: true,
    priority: 7,
    expiration: NOW + 60_000,
    timestamp: NOW - 5,
    correlationId: 'corr-1',
    replyTo: { type: 'topic', name: 'replies.a' },
    type: 'order.created',
    contentType: 'text/plain',
    groupId: 'g-1',
    groupSeq: 3,
    userId: 'alice',
    properties: { s: 'text', n: 42, big: 2 ** 40, f: 1.5, b: true, z: null, [PROP_CONTENT_ENCODING]: 'gzip', [PROP_REPLY_TO_GROUP_ID]: 'rg' },
  };
}

/** Core -> AMQP -> encoded by rhea -> decoded by rhea -> core. */
function throughTheWire(m: Message, now: number): MessageInput {
  const out = { ...coreToAmqp(m, now), application_properties: applicationPropertiesToAmqp(m.properties, types), body: m.body.toString() };
  const decoded = rhea.message.decode(rhea.message.encode(out as unknown as rhea.Message)) as unknown as AmqpMessageIn;
  const properties: Record<string, PropertyValue> = {};
  assert.equal(applicationPropertiesToCore(decoded.application_properties, properties), 0);
  const input: MessageInput = { destination: m.destination, body: m.body, bodyType: 'text', durable: decoded.durable === true, properties };
  amqpToCore(decoded, input, now);
  return input;
}

describe('interop AMQP message mapping', () => {
  test('every field round-trips through rhea encoding', () => {
    const m = full();
    const back = throughTheWire(m, NOW);
    const { originalDestination: _o, deliveryTime: _d, ...expected } = m;
    assert.deepEqual(back, expected);
  });

  test('every header and properties key is present, absent ones undefined (one shape for the encoders)', () => {
    const m: MessageInput = { destination: { type: 'queue', name: 'q' }, body: Buffer.alloc(0) };
    const f = coreToAmqp(m, NOW);
    assert.equal(Object.keys(f).length, 16);
    assert.deepEqual(
      Object.entries(f).filter(([, v]) => v !== undefined),
      [
        ['durable', false],
        ['priority', 4],
        ['to', 'q'],
      ],
    );
  });

  test('ttl is what is left of the expiration, at least 1 ms; absolute expiry wins over ttl inwards', () => {
    assert.equal(coreToAmqp({ ...full(), expiration: NOW - 10 }, NOW).ttl, 1);
    assert.equal(coreToAmqp({ ...full(), expiration: 0 }, NOW).ttl, undefined);
    const m: MessageInput = { destination: { type: 'queue', name: 'q' }, body: Buffer.alloc(0) };
    amqpToCore({ ttl: 1000, absolute_expiry_time: new Date(NOW + 5) }, m, NOW);
    assert.equal(m.expiration, NOW + 5);
    const t: MessageInput = { destination: { type: 'queue', name: 'q' }, body: Buffer.alloc(0) };
    amqpToCore({ ttl: 1000 }, t, NOW);
    assert.equal(t.expiration, NOW + 1000);
  });

  test('reply-to: a topic address, a plain queue, one kept as a property on the way out', () => {
    const m: MessageInput = { destination: { type: 'queue', name: 'q' }, body: Buffer.alloc(0) };
    amqpToCore({ reply_to: 'topic://a.b' }, m, NOW);
    assert.deepEqual(m.replyTo, { type: 'topic', name: 'a.b' });
    const p: MessageInput = { destination: { type: 'queue', name: 'q' }, body: Buffer.alloc(0), properties: { [PROP_REPLY_TO]: 'amqp://elsewhere/x' } };
    assert.equal(coreToAmqp(p, NOW).reply_to, 'amqp://elsewhere/x');
    assert.deepEqual(Object.keys(applicationPropertiesToAmqp(p.properties!, types)), []);
  });

  test('delivery time and delay annotations schedule delivery; content-encoding and reply-to-group-id become properties', () => {
    const m: MessageInput = { destination: { type: 'queue', name: 'q' }, body: Buffer.alloc(0) };
    amqpToCore({ message_annotations: { 'x-opt-delivery-delay': 500 }, content_encoding: 'gzip', reply_to_group_id: 'rg' }, m, NOW);
    assert.equal(m.deliveryTime, NOW + 500);
    assert.deepEqual(m.properties, { [PROP_CONTENT_ENCODING]: 'gzip', [PROP_REPLY_TO_GROUP_ID]: 'rg' });
    const at: MessageInput = { destination: { type: 'queue', name: 'q' }, body: Buffer.alloc(0) };
    amqpToCore({ message_annotations: { 'x-opt-delivery-time': new Date(NOW + 9) } }, at, NOW);
    assert.equal(at.deliveryTime, NOW + 9);
  });

  test('typed ids: ulong, uuid and binary keep their type both ways; malformed prefixed ids stay strings', () => {
    const uuid = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
    assert.equal(idToString(uuid), 'AMQP_UUID:00112233-4455-6677-8899-aabbccddeeff');
    assert.equal(idToString(12), 'AMQP_ULONG:12');
    assert.equal(idToString(Buffer.from([1, 2])), 'AMQP_BINARY:0102');
    for (const id of [uuid, 12, Buffer.from([1, 2])]) {
      const encoded = rhea.message.encode({ message_id: idToAmqp(idToString(id), types) } as rhea.Message);
      assert.deepEqual(rhea.message.decode(encoded).message_id, id);
    }
    assert.equal(idToAmqp('AMQP_UUID:zz', types), 'AMQP_UUID:zz');
    assert.equal(idToAmqp('AMQP_ULONG:-1', types), 'AMQP_ULONG:-1');
    assert.equal(idToAmqp('AMQP_ULONG:1e400', types), 'AMQP_ULONG:1e400');
  });

  test('numbers go out as int, long or double', () => {
    const name = (v: number) => (propertyToAmqp(v, types) as { type: { name: string } }).type.name;
    assert.match(name(42), /Int/);
    assert.equal(name(2 ** 40), 'Long');
    assert.equal(name(-(2 ** 31) - 1), 'Long');
    assert.equal(name(1.5), 'Double');
  });

  test('application properties: typed values flagged, reserved names left out, __proto__ an own property', () => {
    const props: Record<string, PropertyValue> = {};
    const app = JSON.parse('{"__proto__": "p", "x-amqp-body": "value", "when": 0}') as Record<string, unknown>;
    app.when = new Date(NOW);
    app.bin = Buffer.from('hi');
    app.list = [1, 2];
    assert.equal(applicationPropertiesToCore(app, props), APP_TYPED | APP_RESERVED);
    assert.equal(Object.getPrototypeOf(props), Object.prototype);
    assert.deepEqual(Object.entries(props), [
      ['__proto__', 'p'],
      ['when', NOW],
      ['bin', Buffer.from('hi').toString('base64')],
    ]);
  });

  test('hostile input: wrong types and missing sections map to nothing, never throw', () => {
    const m: MessageInput = { destination: { type: 'queue', name: 'q' }, body: Buffer.alloc(0) };
    amqpToCore(
      {
        priority: {},
        ttl: 'abc',
        absolute_expiry_time: 'x',
        creation_time: Number.NaN,
        group_sequence: 'z',
        group_id: 5,
        subject: [],
        reply_to: 7,
        user_id: 9,
        message_id: null,
        content_type: null,
        message_annotations: 5,
        application_properties: 'str',
      },
      m,
      NOW,
    );
    assert.deepEqual(m, { destination: { type: 'queue', name: 'q' }, body: Buffer.alloc(0), properties: {} });
    assert.equal(applicationPropertiesToCore('str', {}), 0);
    assert.equal(applicationPropertiesToCore(Buffer.from('x'), {}), 0);
    assert.equal(applicationPropertiesToCore(null, {}), 0);
    const empty: MessageInput = { destination: { type: 'queue', name: 'q' }, body: Buffer.alloc(0) };
    amqpToCore({}, empty, NOW);
    assert.deepEqual(empty.properties, {});
  });

  test('an integer no long can hold goes out as a double, so the message still encodes', () => {
    for (const v of [1e20, -1e20, 2 ** 63, -(2 ** 63) - 4096, Number.MAX_VALUE]) {
      const out = { body: '', application_properties: applicationPropertiesToAmqp({ v }, types) };
      const decoded = rhea.message.decode(rhea.message.encode(out as unknown as rhea.Message)) as unknown as { application_properties: Record<string, unknown> };
      assert.equal(decoded.application_properties.v, v, String(v));
    }
    const name = (v: number) => (propertyToAmqp(v, types) as { type: { name: string } }).type.name;
    assert.equal(name(2 ** 62), 'Long');
    assert.equal(name(2 ** 63), 'Double');
  });

  test('huge values are clamped or kept as numbers', () => {
    const m: MessageInput = { destination: { type: 'queue', name: 'q' }, body: Buffer.alloc(0) };
    amqpToCore({ priority: 1e300, ttl: 2 ** 40, group_sequence: 2 ** 53 }, m, NOW);
    assert.equal(m.priority, 9);
    assert.equal(m.expiration, NOW + 2 ** 40);
    assert.equal(m.groupSeq, 2 ** 53);
    const low: MessageInput = { destination: { type: 'queue', name: 'q' }, body: Buffer.alloc(0) };
    amqpToCore({ priority: -3 }, low, NOW);
    assert.equal(low.priority, 0);
  });

  test('decoded bodies: data section and binary are bytes, a string text, none empty, other values JSON', () => {
    assert.deepEqual(bodyFromAmqp(rhea.message.data_section(Buffer.from('ab'))), { body: Buffer.from('ab'), bodyType: 'bytes' });
    assert.deepEqual(bodyFromAmqp(Buffer.from('ab')), { body: Buffer.from('ab'), bodyType: 'bytes' });
    assert.deepEqual(bodyFromAmqp('hi'), { body: Buffer.from('hi'), bodyType: 'text' });
    assert.deepEqual(bodyFromAmqp(undefined), { body: Buffer.alloc(0), bodyType: 'text' });
    assert.deepEqual(bodyFromAmqp({ a: 1, n: 5n }), { body: Buffer.from('{"a":1,"n":"5"}'), bodyType: 'json' });
  });
});
