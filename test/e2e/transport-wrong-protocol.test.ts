import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import tls from 'node:tls';
import { after, before, describe, test } from 'node:test';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { captureLog, type LogCapture, type LogLine } from '../helpers/log-capture.ts';
import { AMQP_HEADER, SASL_HEADER } from '../helpers/raw-amqp.ts';
import { connectPacket } from '../helpers/raw-mqtt.ts';
import { RawStomp } from '../helpers/raw-stomp.ts';

// A client on the wrong port (an MQTT device pointed at 61613, curl at 5672, a TLS client at a plaintext
// port) is answered or closed as soon as its first bytes show what it speaks, with one log line naming
// the listener, the remote address and what the bytes look like. Every connect timeout here is 60 s and
// every test has 15 s: a listener that waits for its protocol's connect timeout fails the test.

const SLOW = 60_000;
const TEST = { timeout: 15_000 };

const HTTP_GET = Buffer.from('GET / HTTP/1.1\r\nHost: localhost\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\n\r\n');
// HTTP's CONNECT method shares its first 7 bytes with STOMP's CONNECT frame.
const HTTP_CONNECT = Buffer.from('CONNECT localhost:443 HTTP/1.1\r\nHost: localhost:443\r\n\r\n');
const MQTT_CONNECT = connectPacket({ clientId: 'on-the-wrong-port', keepalive: 60 });
const STOMP_CONNECT = RawStomp.frame('CONNECT', { 'accept-version': '1.2', host: 'localhost' });
const STOMP_STOMP = RawStomp.frame('STOMP', { 'accept-version': '1.2', host: 'localhost' });
// The first record header and handshake header of a TLS 1.2/1.3 ClientHello.
const TLS_HELLO = Buffer.from([0x16, 0x03, 0x01, 0x00, 0xf1, 0x01, 0x00, 0x00, 0xed, 0x03, 0x03, ...Buffer.alloc(32, 7)]);

interface Exchange {
  /** Everything the broker sent before it closed. */
  received: Buffer;
  /** `127.0.0.1:<our port>`, as the broker logs the remote. */
  remote: string;
}

/** Connects, writes `bytes` (one byte per write when `split`), and resolves once the broker has closed the connection. */
async function exchange(port: number, bytes: Buffer, split = false): Promise<Exchange> {
  const socket = net.connect(port, '127.0.0.1');
  socket.setNoDelay(true);
  socket.on('error', () => {}); // a reset after the broker's close is one way of closing
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  const closed = once(socket, 'close');
  await once(socket, 'connect');
  const remote = `127.0.0.1:${socket.localPort}`;
  if (!split) socket.write(bytes);
  else
    for (let i = 0; i < bytes.length && !socket.destroyed; i++) {
      await new Promise<void>((resolve) => socket.write(bytes.subarray(i, i + 1), () => resolve()));
      await new Promise((r) => setImmediate(r));
    }
  await closed;
  return { received: Buffer.concat(chunks), remote };
}

describe('a client speaking another protocol gets an answer or a close at once', () => {
  let broker: TestBroker;
  let log: LogCapture;
  let ports: Record<'stomp' | 'mqtt' | 'amqp' | 'ws', number>;

  before(async () => {
    log = captureLog('info');
    broker = await startBroker(
      { stomp: { connectTimeout: SLOW }, mqtt: { connectTimeout: SLOW }, amqp: { connectTimeout: SLOW }, connections: { upgradeTimeout: SLOW } },
      { logger: log.logger },
    );
    ports = { stomp: broker.ports.stomp!, mqtt: broker.ports.mqtt!, amqp: broker.ports.amqp!, ws: broker.ports.ws! };
  });
  after(async () => {
    await broker.stop();
  });

  /** The one log line about this connection: it names the listener, the remote and what the bytes look like. */
  async function logged(listener: string, remote: string, looksLike: string): Promise<LogLine> {
    const line = await log.waitFor((l) => l.listener === listener && l.remote === remote, `wrong-protocol line for ${remote} on ${listener}`, 10_000);
    assert.equal(line.looksLike, looksLike);
    assert.equal(line.code, 'ERR_TRANSPORT_WRONG_PROTOCOL');
    // A connection is its listener and remote: an earlier test's connection to another listener may
    // have had the same client port (the kernel reuses ephemeral ports), and its line is not this one's.
    assert.equal(log.lines.filter((l) => l.listener === listener && l.remote === remote && l.code === 'ERR_TRANSPORT_WRONG_PROTOCOL').length, 1, 'one line per connection');
    return line;
  }

  function assertHttp400(received: Buffer, names: RegExp): void {
    const text = received.toString('latin1');
    assert.match(text, /^HTTP\/1\.1 400 Bad Request\r\n/);
    assert.match(text, /\r\nConnection: close\r\n/i);
    const [head, body] = text.split('\r\n\r\n') as [string, string];
    assert.equal(Number(/content-length: (\d+)/i.exec(head)?.[1]), Buffer.byteLength(body));
    assert.match(body, names);
    assert.match(body, new RegExp(`WebSocket .* port ${ports.ws}`));
  }

  /** The STOMP ERROR frame the STOMP listener answers with: one stable reason, the detail in the body. */
  function assertStompError(received: Buffer, detail: RegExp): void {
    const text = received.toString('utf8');
    assert.match(text, /^ERROR\n/);
    assert.match(text, /\nmessage:Wrong protocol\n/);
    assert.ok(text.endsWith('\0'), 'the frame is complete');
    assert.match(text.split('\n\n')[1]!, detail);
  }

  describe('STOMP listener', () => {
    test('an HTTP request gets HTTP 400 naming the STOMP port and the WebSocket port', TEST, async () => {
      const { received, remote } = await exchange(ports.stomp, HTTP_GET);
      assertHttp400(received, /STOMP/);
      await logged('stomp', remote, 'HTTP request');
    });

    test('a real HTTP client reads the 400', TEST, async () => {
      const res = await new Promise<http.IncomingMessage>((resolve, reject) => http.get({ host: '127.0.0.1', port: ports.stomp, path: '/', agent: false }, resolve).on('error', reject));
      assert.equal(res.statusCode, 400);
      res.setEncoding('utf8');
      let body = '';
      for await (const c of res) body += c;
      assert.match(body, /STOMP/);
    });

    test('an HTTP CONNECT request (sharing 7 bytes with STOMP CONNECT), one byte per write', TEST, async () => {
      const { received, remote } = await exchange(ports.stomp, HTTP_CONNECT, true);
      assertHttp400(received, /STOMP/);
      await logged('stomp', remote, 'HTTP request');
    });

    test('MQTT CONNECT gets an ERROR naming the MQTT port', TEST, async () => {
      const { received, remote } = await exchange(ports.stomp, MQTT_CONNECT);
      assertStompError(received, new RegExp(`MQTT.*port ${ports.mqtt}`));
      await logged('stomp', remote, 'MQTT CONNECT');
    });

    test('an AMQP protocol header, one byte per write, gets an ERROR naming the AMQP port', TEST, async () => {
      const { received, remote } = await exchange(ports.stomp, AMQP_HEADER, true);
      assertStompError(received, new RegExp(`AMQP.*port ${ports.amqp}`));
      await logged('stomp', remote, 'AMQP protocol header');
    });

    test('a TLS client is closed: "TLS handshake on a plaintext listener"', TEST, async () => {
      const client = tls.connect({ host: '127.0.0.1', port: ports.stomp, rejectUnauthorized: false });
      const [err] = (await once(client, 'error')) as [Error];
      assert.match(err.message, /disconnected|socket hang up|ECONNRESET/);
      const line = await log.waitFor((l) => l.listener === 'stomp' && l.looksLike === 'TLS handshake', 'TLS line', 10_000);
      assert.equal(line.msg, 'TLS handshake on a plaintext listener');
      assert.match(String(line.remote), /^127\.0\.0\.1:\d+$/);
    });

    test('STOMP itself, one byte per write and after heart-beat EOLs, still connects', TEST, async () => {
      const c = await RawStomp.open(ports.stomp);
      try {
        c.socket.setNoDelay(true);
        for (const b of Buffer.concat([Buffer.from('\r\n\n'), STOMP_CONNECT])) {
          await new Promise<void>((resolve) => c.socket.write(Buffer.from([b]), () => resolve()));
          await new Promise((r) => setImmediate(r));
        }
        assert.equal((await c.nextFrame()).command, 'CONNECTED');
        const s = await RawStomp.connect(ports.stomp, { 'accept-version': '1.2', host: 'localhost' });
        s.destroy();
      } finally {
        c.destroy();
      }
    });
  });

  describe('MQTT listener', () => {
    for (const [name, bytes, looksLike, split] of [
      ['STOMP CONNECT', STOMP_CONNECT, 'STOMP CONNECT', false],
      ['a STOMP frame, one byte per write', STOMP_STOMP, 'STOMP CONNECT', true],
      ['an AMQP protocol header', AMQP_HEADER, 'AMQP protocol header', false],
      ['a TLS ClientHello, one byte per write', TLS_HELLO, 'TLS handshake', true],
    ] as const) {
      test(`${name}: closed with nothing sent (MQTT has no answer before CONNECT)`, TEST, async () => {
        const { received, remote } = await exchange(ports.mqtt, bytes, split);
        assert.equal(received.length, 0);
        await logged('mqtt', remote, looksLike);
      });
    }

    test('an HTTP request gets HTTP 400 naming the MQTT port', TEST, async () => {
      const { received, remote } = await exchange(ports.mqtt, HTTP_GET);
      assertHttp400(received, /MQTT/);
      await logged('mqtt', remote, 'HTTP request');
    });

    test('MQTT itself, one byte per write, gets its CONNACK', TEST, async () => {
      const socket = net.connect(ports.mqtt, '127.0.0.1');
      try {
        socket.setNoDelay(true);
        await once(socket, 'connect');
        const connack = once(socket, 'data');
        for (const b of MQTT_CONNECT) {
          await new Promise<void>((resolve) => socket.write(Buffer.from([b]), () => resolve()));
          await new Promise((r) => setImmediate(r));
        }
        const [first] = (await connack) as [Buffer];
        assert.equal(first[0], 0x20, 'CONNACK');
      } finally {
        socket.destroy();
      }
    });
  });

  describe('AMQP listener', () => {
    // AMQP 1.0 §2.2: a server that does not support the protocol header it receives answers with one
    // it supports and closes; Junction's is the SASL layer's (as for any bad header).
    for (const [name, bytes, looksLike, split] of [
      ['MQTT CONNECT', MQTT_CONNECT, 'MQTT CONNECT', false],
      ['STOMP CONNECT, one byte per write', STOMP_CONNECT, 'STOMP CONNECT', true],
      ['a STOMP frame', STOMP_STOMP, 'STOMP CONNECT', false],
    ] as const) {
      test(`${name}: answered with the AMQP protocol header, then closed`, TEST, async () => {
        const { received, remote } = await exchange(ports.amqp, bytes, split);
        assert.deepEqual(received, SASL_HEADER);
        await logged('amqp', remote, looksLike);
      });
    }

    test('an HTTP request gets HTTP 400 naming the AMQP port', TEST, async () => {
      const { received, remote } = await exchange(ports.amqp, HTTP_GET);
      assertHttp400(received, /AMQP/);
      await logged('amqp', remote, 'HTTP request');
    });

    test('a TLS ClientHello is closed with nothing sent', TEST, async () => {
      const { received, remote } = await exchange(ports.amqp, TLS_HELLO);
      assert.equal(received.length, 0);
      const line = await logged('amqp', remote, 'TLS handshake');
      assert.equal(line.msg, 'TLS handshake on a plaintext listener');
    });

    test('AMQP itself, one byte per write, gets its header back', TEST, async () => {
      const socket = net.connect(ports.amqp, '127.0.0.1');
      try {
        socket.setNoDelay(true);
        await once(socket, 'connect');
        let got = Buffer.alloc(0);
        const header = new Promise<void>((resolve) =>
          socket.on('data', (c: Buffer) => {
            got = Buffer.concat([got, c]);
            if (got.length >= 8) resolve();
          }),
        );
        for (const b of AMQP_HEADER) {
          await new Promise<void>((resolve) => socket.write(Buffer.from([b]), () => resolve()));
          await new Promise((r) => setImmediate(r));
        }
        await header;
        assert.deepEqual(got.subarray(0, 8), AMQP_HEADER);
      } finally {
        socket.destroy();
      }
    });
  });

  describe('WebSocket listener', () => {
    for (const [name, bytes, looksLike] of [
      ['STOMP CONNECT', STOMP_CONNECT, 'STOMP CONNECT'],
      ['MQTT CONNECT', MQTT_CONNECT, 'MQTT CONNECT'],
      ['an AMQP protocol header', AMQP_HEADER, 'AMQP protocol header'],
    ] as const) {
      test(`${name} gets HTTP 400 naming its own port, and one log line`, TEST, async () => {
        const { received, remote } = await exchange(ports.ws, bytes);
        const text = received.toString('latin1');
        assert.match(text, /^HTTP\/1\.1 400 Bad Request\r\n/);
        const proto = looksLike.split(' ')[0]!;
        assert.match(text.split('\r\n\r\n')[1]!, new RegExp(`${proto} .*port ${ports[proto.toLowerCase() as 'stomp' | 'mqtt' | 'amqp']}`));
        await logged('ws', remote, looksLike);
      });
    }

    test('a TLS ClientHello is closed', TEST, async () => {
      const { remote } = await exchange(ports.ws, TLS_HELLO);
      const line = await logged('ws', remote, 'TLS handshake');
      assert.equal(line.msg, 'TLS handshake on a plaintext listener');
    });

    test('a plain HTTP request still gets 426 Upgrade Required', TEST, async () => {
      const res = await new Promise<http.IncomingMessage>((resolve, reject) => http.get({ host: '127.0.0.1', port: ports.ws, path: '/', agent: false }, resolve).on('error', reject));
      assert.equal(res.statusCode, 426);
      res.resume();
    });
  });
});

describe('a flood of connections in another protocol', () => {
  test('is answered connection by connection, but logged one by one only for the first 100 of a burst', TEST, async () => {
    const log = captureLog('info');
    const broker = await startBroker({}, { logger: log.logger });
    try {
      const answers: Exchange[] = [];
      for (let round = 0; round < 13; round++) answers.push(...(await Promise.all(Array.from({ length: 10 }, () => exchange(broker.ports.stomp!, HTTP_GET)))));
      for (const a of answers) assert.match(a.received.toString('latin1'), /^HTTP\/1\.1 400 Bad Request\r\n/);
      await log.waitFor(() => log.lines.filter((l) => l.code === 'ERR_TRANSPORT_WRONG_PROTOCOL').length >= 100, '100 lines', 10_000);
      await new Promise((r) => setImmediate(r));
      // Before: one line per connection (130); a device fleet on the wrong port was a line per connect.
      assert.equal(log.lines.filter((l) => l.code === 'ERR_TRANSPORT_WRONG_PROTOCOL' && l.remote !== undefined).length, 100);
      const c = await RawStomp.connect(broker.ports.stomp!);
      c.destroy();
    } finally {
      await broker.stop();
    }
  });
});
