import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Message } from '../../../src/core/message.ts';
import { bodyPreview, downloadContentType, downloadFileName, messageDetail, messageSummary } from '../../../src/management/message-view.ts';

function message(over: Partial<Message> = {}): Message {
  return {
    id: 'ID:b-1-7',
    destination: { type: 'queue', name: 'orders' },
    body: Buffer.from('hello'),
    bodyType: 'text',
    durable: true,
    priority: 4,
    expiration: 0,
    timestamp: 1_700_000_000_000,
    properties: {},
    ...over,
  };
}

test('message view: a preview is text when valid UTF-8, cut before a split character, else base64', () => {
  assert.deepEqual(bodyPreview(Buffer.from('hello'), 64), { encoding: 'utf8', data: 'hello', truncated: false });
  // 'é' is 2 bytes: 63 ASCII bytes then é straddles byte 64: the preview stops at 63 bytes.
  const text = Buffer.from('a'.repeat(63) + 'é' + 'tail');
  assert.deepEqual(bodyPreview(text, 64), { encoding: 'utf8', data: 'a'.repeat(63), truncated: true });
  const emoji = Buffer.from('😀'.repeat(40)); // 4 bytes each
  const p = bodyPreview(emoji, 64);
  assert.equal(p.encoding, 'utf8');
  assert.equal(p.data, '😀'.repeat(16));
  const binary = Buffer.from([0xff, 0xfe, 0x00, 0x80, 1, 2, 3]);
  assert.deepEqual(bodyPreview(binary, 4), { encoding: 'base64', data: binary.subarray(0, 4).toString('base64'), truncated: true });
  assert.deepEqual(bodyPreview(Buffer.alloc(0), 64), { encoding: 'utf8', data: '', truncated: false });
});

test('message view: a summary has the headers, at most 8 properties (strings cut to 64 chars) and a 64-byte preview', () => {
  const properties: Record<string, string | number> = {};
  for (let i = 0; i < 12; i++) properties[`p${i}`] = i;
  properties.long = 'x'.repeat(200);
  const s = messageSummary(
    message({
      body: Buffer.from('y'.repeat(100)),
      properties,
      correlationId: 'c-1',
      originalDestination: { type: 'queue', name: 'orders' },
      destination: { type: 'queue', name: 'DLQ' },
    }),
  );
  assert.equal(s.id, 'ID:b-1-7');
  assert.equal(s.size, 100);
  assert.equal(s.propertyCount, 13);
  assert.deepEqual(Object.keys(s.properties), ['p0', 'p1', 'p2', 'p3', 'p4', 'p5', 'p6', 'p7']);
  assert.equal(s.preview.data.length, 64);
  assert.equal(s.preview.truncated, true);
  assert.equal(s.correlationId, 'c-1');
  assert.deepEqual(s.originalDestination, { type: 'queue', name: 'orders' });
  assert.equal('type' in s, false, 'absent headers are left out, not undefined');
  const long = messageSummary(message({ properties: { long: 'z'.repeat(200) } }));
  assert.equal(long.properties.long, 'z'.repeat(64));
});

test('message view: a detail has every property, the body size and a 4 KiB preview', () => {
  const body = Buffer.alloc(10_000, 0x41);
  const d = messageDetail(message({ body, properties: { a: 1, b: 'two', c: true, d: null }, replyTo: { type: 'topic', name: 'replies' }, groupId: 'g', groupSeq: 3 }));
  assert.equal(d.bodySize, 10_000);
  assert.deepEqual(d.properties, { a: 1, b: 'two', c: true, d: null });
  assert.equal(d.body.data.length, 4096);
  assert.equal(d.body.truncated, true);
  assert.deepEqual(d.replyTo, { type: 'topic', name: 'replies' });
  assert.equal(d.groupSeq, 3);
});

test('message view: a download keeps a plain content type and refuses anything that could inject a header', () => {
  assert.equal(downloadContentType(message({ contentType: 'application/pdf' })), 'application/pdf');
  assert.equal(downloadContentType(message({ contentType: 'text/plain; charset=utf-8' })), 'text/plain; charset=utf-8');
  assert.equal(downloadContentType(message({ contentType: 'text/html\r\nset-cookie: x=1' })), 'text/plain; charset=utf-8');
  assert.equal(downloadContentType(message({ bodyType: 'bytes', contentType: 'nonsense' })), 'application/octet-stream');
  assert.equal(downloadContentType(message({ bodyType: 'json' })), 'application/json');
  assert.equal(downloadFileName('ID:b-1-7'), 'ID_b-1-7.bin');
  assert.equal(downloadFileName('"/../\r\n'), '_.._.bin');
});
