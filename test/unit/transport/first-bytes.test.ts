import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MAX_SNIFF_BYTES, sniffForeign, type WireProtocol } from '../../../src/transport/first-bytes.ts';
import { wrongProtocolAnswer } from '../../../src/transport/wrong-protocol.ts';

// The first-bytes check decides on a connection's first chunk, whatever its size, and on at most
// MAX_SNIFF_BYTES when the bytes come one at a time: it never holds more, never takes a listener's
// own protocol for another, and never mistakes STOMP's CONNECT frame for HTTP's CONNECT method.

const SAMPLES: Array<[string, WireProtocol, Buffer]> = [
  ['HTTP GET', 'http', Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n')],
  ['HTTP CONNECT', 'http', Buffer.from('CONNECT x:443 HTTP/1.1\r\n\r\n')],
  ['HTTP/2 preface', 'http', Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n')],
  ['TLS ClientHello', 'tls', Buffer.from([0x16, 0x03, 0x01, 0x00, 0xf1, 0x01, 0x00, 0x00, 0xed, 0x03, 0x03])],
  ['MQTT 3.1.1 CONNECT', 'mqtt', Buffer.from([0x10, 0x0c, 0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x04, 0x02, 0x00, 0x3c, 0x00, 0x00])],
  ['MQTT 3.1 CONNECT', 'mqtt', Buffer.from([0x10, 0x0e, 0x00, 0x06, 0x4d, 0x51, 0x49, 0x73, 0x64, 0x70, 0x03, 0x02, 0x00, 0x3c, 0x00, 0x00])],
  ['STOMP CONNECT', 'stomp', Buffer.from('CONNECT\naccept-version:1.2\nhost:x\n\n\0')],
  ['STOMP CONNECT with CRLF', 'stomp', Buffer.from('CONNECT\r\naccept-version:1.2\r\n\r\n\0')],
  ['STOMP frame', 'stomp', Buffer.from('STOMP\naccept-version:1.2\nhost:x\n\n\0')],
  ['AMQP header', 'amqp', Buffer.from('AMQP\x00\x01\x00\x00', 'latin1')],
  ['AMQP SASL header', 'amqp', Buffer.from('AMQP\x03\x01\x00\x00', 'latin1')],
];

/** Feeds `bytes` in chunks of `size` as a connection does: held bytes plus each new chunk. */
function feed(bytes: Buffer, own: WireProtocol, size: number): { verdict: WireProtocol | null; held: number } {
  let held = Buffer.alloc(0);
  for (let i = 0; i < bytes.length; i += size) {
    const prefix = Buffer.concat([held, bytes.subarray(i, i + size)]);
    const verdict = sniffForeign(prefix, own);
    if (verdict !== undefined) return { verdict, held: held.length };
    assert.ok(prefix.length < MAX_SNIFF_BYTES, `undecided with ${prefix.length} bytes`);
    held = prefix;
  }
  throw new Error('no verdict after the whole sample');
}

describe('sniffForeign', () => {
  for (const own of ['stomp', 'mqtt', 'amqp', 'http'] as const) {
    for (const [name, protocol, bytes] of SAMPLES) {
      const expected = protocol === own ? null : protocol;
      test(`${name} on the ${own} listener: ${expected ?? 'its own'}, whole or split at any size`, () => {
        for (let size = 1; size <= bytes.length; size++) assert.equal(feed(bytes, own, size).verdict, expected, `chunks of ${size}`);
      });
    }
  }

  test('the listener\'s own protocol and unknown bytes pass on the first byte that rules out every other', () => {
    assert.equal(sniffForeign(Buffer.from([0x10]), 'mqtt'), null);
    assert.equal(sniffForeign(Buffer.from('A'), 'amqp'), null);
    assert.equal(sniffForeign(Buffer.from('S'), 'stomp'), null);
    assert.equal(sniffForeign(Buffer.from('\n'), 'stomp'), null, 'a heart-beat EOL before CONNECT');
    assert.equal(sniffForeign(Buffer.from('hello'), 'stomp'), null);
    // Only "CONNECT" must wait for its 8th byte on the STOMP listener: LF or CR is STOMP, a space is HTTP.
    assert.equal(sniffForeign(Buffer.from('CONNECT'), 'stomp'), undefined);
    assert.equal(sniffForeign(Buffer.from('CONNECT\n'), 'stomp'), null);
    assert.equal(sniffForeign(Buffer.from('CONNECT\r'), 'stomp'), null);
    assert.equal(sniffForeign(Buffer.from('CONNECT '), 'stomp'), 'http');
  });

  test('random first bytes are always decided within MAX_SNIFF_BYTES', () => {
    let seed = 12345;
    const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % 256;
    for (let i = 0; i < 20_000; i++) {
      const b = Buffer.from(Array.from({ length: MAX_SNIFF_BYTES }, rnd));
      for (const own of ['stomp', 'mqtt', 'amqp', 'http'] as const) assert.notEqual(sniffForeign(b, own), undefined);
    }
  });
});

describe('wrongProtocolAnswer', () => {
  const ports = new Map([['stomp', 61613], ['mqtt', 1883], ['amqp', 5672], ['ws', 61614]]);

  test('an HTTP client gets a complete 400 naming the port it reached and the WebSocket port', () => {
    const a = wrongProtocolAnswer('mqtt', 'http', ports);
    const text = a.bytes!.toString();
    const [head, body] = text.split('\r\n\r\n') as [string, string];
    assert.match(head, /^HTTP\/1\.1 400 Bad Request\r\n/);
    assert.equal(Number(/Content-Length: (\d+)/.exec(head)![1]), Buffer.byteLength(body));
    assert.match(body, /MQTT port.*port 61614/);
  });

  test('STOMP answers an ERROR frame with one stable message header and the detail in its body', () => {
    const text = wrongProtocolAnswer('stomp', 'amqp', ports).bytes!.toString();
    assert.match(text, /^ERROR\nmessage:Wrong protocol\ncontent-type:text\/plain\ncontent-length:(\d+)\n\n/);
    const length = Number(/content-length:(\d+)/.exec(text)![1]);
    const body = text.slice(text.indexOf('\n\n') + 2, -1);
    assert.equal(Buffer.byteLength(body), length);
    assert.match(body, /AMQP is on port 5672/);
    assert.ok(text.endsWith('\0'));
  });

  test('AMQP answers its protocol header; MQTT and a TLS client get nothing', () => {
    assert.deepEqual(wrongProtocolAnswer('amqp', 'mqtt', ports).bytes, Buffer.from('AMQP\x03\x01\x00\x00', 'latin1'));
    assert.equal(wrongProtocolAnswer('mqtt', 'stomp', ports).bytes, undefined);
    for (const l of ['stomp', 'mqtt', 'amqp', 'ws'] as const) assert.equal(wrongProtocolAnswer(l, 'tls', ports).bytes, undefined);
  });

  test('no port is named for a listener that is not bound', () => {
    assert.doesNotMatch(wrongProtocolAnswer('stomp', 'mqtt', new Map()).text, /port \d/);
  });
});
