import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, test } from 'node:test';
import rhea from 'rhea';
import { isJunctionError } from '../../../../src/errors.ts';
import { MAX_DEPTH } from '../../../../src/protocols/amqp/decode-bounds.ts';
import { types } from '../../../../src/protocols/amqp/rhea-codec.ts';

// Every size and count rhea's decoder reads is bounded by the bytes there (issue 11, item 1).

const frames = createRequire(import.meta.url)('rhea/lib/frames.js') as { read_frame(b: Buffer): { performative?: unknown } };

function decode(bytes: number[] | Buffer): unknown {
  return new types.Reader(Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes)).read();
}

function refused(bytes: number[] | Buffer, why: RegExp): void {
  assert.throws(
    () => decode(bytes),
    (err: unknown) => isJunctionError(err) && err.code === 'ERR_AMQP_DECODE' && new RegExp(why.source, 'i').test(err.message),
  );
}

/** An AMQP frame (type 0 or SASL 1) around a performative body. */
function frame(type: number, body: Buffer): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt32BE(8 + body.length);
  h[4] = 2;
  h[5] = type;
  return Buffer.concat([h, body]);
}

describe('compound counts and sizes', () => {
  test('an array32 of 0xFFFFFFFF nulls in a 32-byte open is refused at once', () => {
    const body = Buffer.from([0x00, 0x53, 0x10, 0xf0, 0, 0, 0, 5, 0xff, 0xff, 0xff, 0xff, 0x40]);
    assert.throws(() => frames.read_frame(frame(0, body)), /array32 count 4294967295/i);
    assert.throws(() => frames.read_frame(frame(1, Buffer.from([0x00, 0x53, 0x41, ...body.subarray(3)]))), /array32 count/i);
  });

  test('zero-width array elements cost a byte each; fixed-width ones their width', () => {
    refused([0xe0, 0x02, 0x03, 0x40], /count 3 of null exceeds its 1 bytes/);
    assert.equal((decode([0xe0, 0x02, 0x01, 0x40]) as { value: unknown[] }).value.length, 1);
    refused([0xe0, 0x06, 0x02, 0x70, 0, 0, 0, 1], /count 2 of uint exceeds its 5 bytes/);
    assert.deepEqual((decode([0xe0, 0x06, 0x01, 0x70, 0, 0, 0, 7]) as { value: Array<{ value: number }> }).value.map((v) => v.value), [7]);
  });

  test('list and map counts never exceed the bytes after the count', () => {
    refused([0xd0, 0, 0, 0, 5, 0xff, 0xff, 0xff, 0xff, 0x40], /list32 count 4294967295 exceeds its 1 bytes/);
    refused([0xc0, 0x02, 0x05, 0x40], /list8 count 5/);
    refused([0xc1, 0x04, 0x03, 0x40, 0x40, 0x40], /odd count/);
  });

  test('a size beyond the buffer, or one that is not the bytes used, is refused', () => {
    refused([0xc0, 0x10, 0x01, 0x40], /exceeds the 2 bytes left/);
    refused([0xc0, 0x03, 0x01, 0x40, 0x40], /holds 2 bytes, not its size 3/);
    refused([0xa1, 0x10, 0x41], /str8-utf8 of 16 bytes|of 16 bytes/);
    refused([0x70, 0x00, 0x01], /Truncated/);
    refused([0xd0, 0x00, 0x00], /Truncated/);
  });

  test('nested arrays cannot claim room their parent does not give them (no amplification)', () => {
    // An array of array8s, each claiming 255 bytes of nulls it does not have.
    const inner = [0xe0, 0xff, 0xfd, 0x40];
    const outer = Buffer.from([0xf0, 0, 0, 0, 4 + 1 + inner.length * 3 - 1, 0, 0, 0, 3, 0xe0, ...inner.slice(1), ...inner.slice(1), ...inner.slice(1)]);
    assert.throws(() => decode(outer), /ERR_AMQP_DECODE|exceeds|holds/);
  });

  test(`nesting deeper than ${MAX_DEPTH} levels is refused without exhausting the stack`, () => {
    const depth = 100_000;
    // list8 of one list8 of one ... : each level 3 bytes.
    const lists = Buffer.alloc(depth * 3 + 1);
    for (let i = 0; i < depth; i++) {
      lists[i * 3] = 0xc0;
      lists[i * 3 + 1] = Math.min(255, (depth - i) * 3 - 1);
      lists[i * 3 + 2] = 1;
    }
    lists[depth * 3] = 0x40;
    refused(lists, /nested deeper/);
    refused(Buffer.alloc(200_000, 0x00), /nested deeper/);
    // A chain of descriptors on one value.
    const chain = Buffer.concat([Buffer.from([].concat(...Array.from({ length: 5000 }, () => [0x00, 0x53, 0x01] as never[]))), Buffer.from([0x40])]);
    refused(chain, /nested deeper/);
  });

  test('unknown type codes and prototype-member descriptors are decode errors', () => {
    refused([0x01], /Unknown type code 0x1/);
    refused([0x00, 0xa3, 0x09, ...Buffer.from('__proto__'), 0x45], /Invalid descriptor/);
    refused([0x00, 0xa3, 0x0b, ...Buffer.from('constructor'), 0x45], /Invalid descriptor/);
  });
});

describe('maps from client input', () => {
  test('a "__proto__" key is an own property, never the prototype', () => {
    const raw = rhea.message.encode({ application_properties: { ['__proto__']: 'x', constructor: 'y', a: 1 }, body: 'b' } as unknown as rhea.Message);
    // rhea's encoder skips a literal __proto__ key; write the map by hand: {"a": 1, "__proto__": {}}.
    const entries = Buffer.from([0xa1, 1, 0x61, 0x54, 1, 0xa1, 9, ...Buffer.from('__proto__'), 0xc1, 0x01, 0x00]);
    const crafted = Buffer.concat([Buffer.from([0x00, 0x53, 0x74, 0xc1, entries.length + 1, 4]), entries]);
    const m = rhea.message.decode(crafted) as unknown as { application_properties: Record<string, unknown> };
    assert.equal(Object.getPrototypeOf(m.application_properties), Object.prototype);
    assert.ok(Object.hasOwn(m.application_properties, '__proto__'));
    assert.deepEqual(Object.keys(m.application_properties), ['a', '__proto__']);
    assert.equal(m.application_properties.a, 1);
    assert.ok(rhea.message.decode(raw));
  });
});

describe('valid input decodes as before', () => {
  test('messages rhea encodes round-trip', () => {
    const m = {
      durable: true,
      message_id: 'id',
      message_annotations: { 'x-opt-a': 1 },
      application_properties: { s: 'v', n: 2, l: [1, 2, 3], arr: rhea.types.wrap_array([1, 2, 3], 0x71, undefined) },
      body: rhea.message.data_section(Buffer.alloc(1000, 7)),
    };
    const out = rhea.message.decode(rhea.message.encode(m as unknown as rhea.Message)) as unknown as Record<string, unknown>;
    assert.equal(out.message_id, 'id');
    assert.deepEqual(out.application_properties, { s: 'v', n: 2, l: [1, 2, 3], arr: [1, 2, 3] });
  });
});
