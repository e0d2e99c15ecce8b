import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import rhea from 'rhea';
import { readDescribed, SECTION, skipValue, splitSections } from '../../../../src/protocols/amqp/sections.ts';

describe('splitSections', () => {
  test('finds every section of a message rhea encodes, in order, covering all bytes', () => {
    const raw = rhea.message.encode({
      durable: true,
      message_annotations: { 'x-opt-a': 1 },
      message_id: 'id-1',
      application_properties: { k: 'v', n: 2 },
      body: rhea.message.data_section(Buffer.from('abc')),
    } as unknown as rhea.Message);
    const s = splitSections(raw);
    assert.deepEqual(s.map((x) => x.code), [SECTION.header, SECTION.messageAnnotations, SECTION.properties, SECTION.applicationProperties, SECTION.data]);
    assert.equal(s[0]!.start, 0);
    for (let i = 1; i < s.length; i++) assert.equal(s[i]!.start, s[i - 1]!.end);
    assert.equal(s[s.length - 1]!.end, raw.length);
  });

  test('handles symbolic section descriptors and long encodings', () => {
    const big = Buffer.alloc(300, 1);
    const w = Buffer.concat([
      Buffer.from([0x00, 0xa3, 16]), Buffer.from('amqp:data:binary'),
      Buffer.from([0xb0, 0, 0, 1, 44]), big,
    ]);
    const s = splitSections(w);
    assert.deepEqual(s, [{ code: SECTION.data, start: 0, end: w.length }]);
  });

  test('rejects truncated values, unknown codes and non-section data', () => {
    assert.throws(() => splitSections(Buffer.from([0x00, 0x53, 0x77, 0xa1, 0x10, 0x41])), /truncated/);
    assert.throws(() => splitSections(Buffer.from([0x00, 0x53, 0x77, 0x01])), /invalid type code/);
    assert.throws(() => splitSections(Buffer.from([0xa1, 0x01, 0x41])), /described section/);
    assert.throws(() => splitSections(Buffer.from([0x00, 0x53, 0x10, 0x40])), /unknown message section/);
  });

  test('skipValue knows the width of each type subcategory', () => {
    assert.equal(skipValue(Buffer.from([0x40]), 0), 1); // null
    assert.equal(skipValue(Buffer.from([0x52, 7]), 0), 2); // smalluint
    assert.equal(skipValue(Buffer.from([0x60, 0, 1]), 0), 3); // ushort
    assert.equal(skipValue(Buffer.from([0x71, 0, 0, 0, 1]), 0), 5); // int
    assert.equal(skipValue(Buffer.alloc(9, 0x81), 0), 9); // long
    assert.equal(skipValue(Buffer.concat([Buffer.from([0x98]), Buffer.alloc(16)]), 0), 17); // uuid
    assert.equal(skipValue(Buffer.from([0x45]), 0), 1); // list0
    assert.equal(skipValue(Buffer.from([0xc0, 2, 1, 0x40]), 0), 4); // list8
  });
});

describe('readDescribed', () => {
  test('reads numeric and symbolic descriptors of nested described values', () => {
    const declare = Buffer.concat([Buffer.from([0x00, 0xa3, 17]), Buffer.from('amqp:declare:list'), Buffer.from([0x45])]);
    const section = Buffer.concat([Buffer.from([0x00, 0x53, 0x77]), declare]);
    const outer = readDescribed(section, 0)!;
    assert.equal(outer.descriptor, 0x77);
    const inner = readDescribed(section, outer.valueStart)!;
    assert.equal(inner.descriptor, 'amqp:declare:list');
    assert.equal(section[inner.valueStart], 0x45);
    assert.equal(readDescribed(Buffer.from([0x45]), 0), undefined);
  });
});
