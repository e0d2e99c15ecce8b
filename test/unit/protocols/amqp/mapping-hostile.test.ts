import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import rhea from 'rhea';
import type { Delivery } from '../../../../src/core/handles.ts';
import type { Message, PropertyValue } from '../../../../src/core/message.ts';
import { isJunctionError } from '../../../../src/errors.ts';
import { encode, types } from '../../../../src/protocols/amqp/rhea-codec.ts';
import { amqpFromDelivery, messageFromAmqp } from '../../../../src/protocols/amqp/mapping.ts';
import { PROP_ANNOTATIONS, PROP_APP_PROPERTIES, PROP_BODY } from '../../../../src/interop/amqp-message.ts';

// Marker properties (x-amqp-*) hold AMQP encodings the adapter wrote; a stored message whose markers
// hold other bytes (set by a client before ingress stripped them, or damaged) cannot be mapped and
// throws ERR_AMQP_DECODE, which the consumer link turns into a dead letter (issue 11, item 2).

const NOW = 1_750_000_000_000;

/** The bytes: an application-properties section holding an array32 of 0xFFFFFFFF nulls. */
export const POISON_APP_PROPERTIES = Buffer.from([0x00, 0x53, 0x74, 0xf0, 0, 0, 0, 5, 0xff, 0xff, 0xff, 0xff, 0x40]).toString('base64');

function delivery(properties: Record<string, PropertyValue>, body: Buffer = Buffer.from('x')): Delivery {
  const m: Message = { id: 'ID:poison', timestamp: NOW, priority: 4, expiration: 0, durable: true, bodyType: 'bytes', body, properties, destination: { type: 'queue', name: 'q' } } as Message;
  return { id: 1, message: m, deliveryCount: 1, redelivered: false, queue: 'q' };
}

function unmappable(properties: Record<string, PropertyValue>, why: RegExp, body?: Buffer): void {
  assert.throws(
    () => amqpFromDelivery(delivery(properties, body), NOW),
    (err: unknown) => isJunctionError(err) && err.code === 'ERR_AMQP_DECODE' && /cannot be sent over AMQP/.test(err.message) && why.test(err.message),
  );
}

describe('stored messages whose markers are not what they name', () => {
  test('application properties holding a count bomb, or truncated, or not a map', () => {
    unmappable({ [PROP_APP_PROPERTIES]: POISON_APP_PROPERTIES }, /x-amqp-properties/);
    unmappable({ [PROP_APP_PROPERTIES]: Buffer.from([0x00, 0x53, 0x74, 0xd1, 0, 0, 0, 0]).toString('base64') }, /x-amqp-properties/);
    unmappable({ [PROP_APP_PROPERTIES]: Buffer.from([0x00, 0x53, 0x74, 0xa1, 1, 0x41]).toString('base64') }, /does not hold a map/);
    unmappable({ [PROP_APP_PROPERTIES]: 'not base64 of anything' }, /x-amqp-properties/);
  });

  test('annotations that are another section, two sections, or not a map', () => {
    unmappable({ [PROP_ANNOTATIONS]: Buffer.from([0x00, 0x53, 0x77, 0xa1, 1, 0x41]).toString('base64') }, /x-amqp-annotations is not one section 0x72/);
    const ma = Buffer.from([0x00, 0x53, 0x72, 0xc1, 0x01, 0x00]);
    unmappable({ [PROP_ANNOTATIONS]: Buffer.concat([ma, ma]).toString('base64') }, /not one section/);
    unmappable({ [PROP_ANNOTATIONS]: Buffer.from([0x00, 0x53, 0x72, 0x40]).toString('base64') }, /does not hold a map/);
    unmappable({ [PROP_ANNOTATIONS]: Buffer.alloc(100_000, 0x00).toString('base64') }, /nested deeper/);
  });

  test('an encoded body that is not sections of its kind', () => {
    unmappable({ [PROP_BODY]: 'value' }, /x-amqp-body value/, Buffer.from('plain text, not AMQP'));
    unmappable({ [PROP_BODY]: 'data' }, /x-amqp-body data/, Buffer.from([0x00, 0x53, 0x77, 0x40]));
    unmappable({ [PROP_BODY]: 'sequence' }, /x-amqp-body sequence/, Buffer.from([0x00, 0x53, 0x76, 0xd0, 0xff, 0xff, 0xff, 0xff]));
  });

  test('markers the adapter wrote itself still map', () => {
    const raw = rhea.message.encode({
      message_annotations: { 'x-opt-a': 1 },
      application_properties: { when: new Date(NOW), s: 'v' },
      body: { map: true },
    } as unknown as rhea.Message);
    const input = messageFromAmqp(rhea.message.decode(raw) as unknown as Record<string, unknown>, raw, { destination: { type: 'queue', name: 'q' }, now: NOW });
    const out = rhea.message.decode(amqpFromDelivery(delivery(input.properties ?? {}, input.body), NOW)) as unknown as Record<string, unknown>;
    assert.deepEqual(out.message_annotations, { 'x-opt-a': 1 });
    assert.equal(out.application_properties && (out.application_properties as Record<string, unknown>).s, 'v');
    assert.deepEqual(out.body, { map: true });
  });
});

describe('reserved names from AMQP clients', () => {
  test('application properties named x-amqp-* are dropped on the way in, from the typed section too', () => {
    const raw = rhea.message.encode({
      application_properties: { 'x-amqp-body': 'value', 'x-amqp-annotations': 'AAAA', keep: 'k', when: new Date(NOW) },
      body: 'b',
    } as unknown as rhea.Message);
    const input = messageFromAmqp(rhea.message.decode(raw) as unknown as Record<string, unknown>, raw, { destination: { type: 'queue', name: 'q' }, now: NOW });
    assert.equal(input.properties?.[PROP_BODY], undefined);
    assert.equal(input.properties?.[PROP_ANNOTATIONS], undefined);
    assert.equal(input.properties?.keep, 'k');
    assert.equal(input.bodyType, 'text');
    const out = rhea.message.decode(amqpFromDelivery(delivery(input.properties ?? {}, input.body), NOW)) as unknown as { application_properties: Record<string, unknown> };
    assert.deepEqual(Object.keys(out.application_properties).sort(), ['keep', 'when']);
    assert.equal((out.application_properties.when as Date).getTime(), NOW);
  });

  test('a property named __proto__ is an own property, not the prototype', () => {
    const value = encode(types.described(types.wrap_ulong(0x77), types.wrap_string('b')));
    const entries = Buffer.from([0xa1, 9, ...Buffer.from('__proto__'), 0x40]);
    const raw = Buffer.concat([Buffer.from([0x00, 0x53, 0x74, 0xc1, entries.length + 1, 2]), entries, value]);
    const input = messageFromAmqp(rhea.message.decode(raw) as unknown as Record<string, unknown>, raw, { destination: { type: 'queue', name: 'q' }, now: NOW });
    assert.equal(Object.getPrototypeOf(input.properties), Object.prototype);
    assert.ok(Object.hasOwn(input.properties!, '__proto__'));
    assert.equal(input.properties!['__proto__'], null);
  });

  test('a property named __proto__ goes out as an application property, and nothing else with it', () => {
    const out = amqpFromDelivery(delivery(JSON.parse('{"__proto__": "p", "a": "1"}') as Record<string, PropertyValue>), NOW);
    const app = (rhea.message.decode(out) as unknown as { application_properties: Record<string, unknown> }).application_properties;
    assert.deepEqual(Object.entries(app), [
      ['__proto__', 'p'],
      ['a', '1'],
    ]);
  });
});
