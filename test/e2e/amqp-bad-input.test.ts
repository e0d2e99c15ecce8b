import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import rhea from 'rhea';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { captureLog } from '../helpers/log-capture.ts';
import { AmqpTestClient, eventually } from '../helpers/amqp-client.ts';

// Bad input on the AMQP port: each case gets the right AMQP error on the link or connection, is
// logged once, leaves other connections alone and loses nothing already stored.

const { logger, lines } = captureLog();

let broker: TestBroker;
const clients: AmqpTestClient[] = [];

async function client(opts: Parameters<typeof AmqpTestClient.connect>[1] = {}): Promise<AmqpTestClient> {
  const c = await AmqpTestClient.connect(broker.ports.amqp!, opts);
  clients.push(c);
  return c;
}

before(async () => {
  broker = await startBroker({ amqp: { maxMessageSize: 2048, producerCredit: 2, channelMax: 3, maxFrameSize: 16 * 1024 } }, { logger });
});
after(async () => {
  for (const c of clients) await c.close().catch(() => undefined);
  await broker.stop();
});

/** Opens a raw socket, writes `bytes`, and resolves with everything the broker sent until it closed. */
function raw(bytes: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const s = net.connect(broker.ports.amqp!, '127.0.0.1');
    const got: Buffer[] = [];
    s.on('connect', () => s.write(bytes));
    s.on('data', (d) => got.push(d));
    s.on('error', reject);
    s.on('close', () => resolve(Buffer.concat(got)));
    setTimeout(() => s.destroy(new Error('broker did not close the connection')), 5000).unref();
  });
}

/** The error of the broker's close frame, as the rhea client saw it. */
function connectionError(c: AmqpTestClient): Promise<{ condition: string; description?: string }> {
  return new Promise((resolve) => {
    const done = () => {
      const e = (c.connection as unknown as { error?: { condition: string; description?: string } }).error;
      resolve(e ?? { condition: 'none' });
    };
    c.connection.once('connection_error', done);
    c.connection.once('disconnected', done);
  });
}

function socketOf(c: AmqpTestClient): net.Socket {
  return (c.connection as unknown as { socket: net.Socket }).socket;
}

describe('protocol header', () => {
  // (An HTTP request gets an HTTP 400 from the listener itself: transport-wrong-protocol.test.ts.)
  test('bytes that are no protocol header get the AMQP header back and the connection closes', async () => {
    const reply = await raw(Buffer.from('hello broker\r\n\r\n'));
    assert.deepEqual([...reply], [0x41, 0x4d, 0x51, 0x50, 3, 1, 0, 0]);
    assert.ok(lines.some((l) => l.msg === 'amqp connection refused: bad protocol header'));
  });

  test('an unsupported AMQP version gets our header back and the connection closes', async () => {
    const reply = await raw(Buffer.from([0x41, 0x4d, 0x51, 0x50, 0, 2, 0, 0]));
    assert.equal(reply.subarray(0, 8).toString('latin1'), 'AMQP\x03\x01\x00\x00');
  });
});

describe('frames', () => {
  test('a frame bigger than the max frame size closes the connection with amqp:connection:framing-error', async () => {
    const c = await client();
    const err = connectionError(c);
    const before = lines.filter((l) => l.msg === 'amqp connection closed: framing error').length;
    const header = Buffer.alloc(8);
    header.writeUInt32BE(10 * 1024 * 1024, 0);
    header[4] = 2;
    socketOf(c).write(header);
    const e = await err;
    assert.equal(e.condition, 'amqp:connection:framing-error');
    assert.match(e.description ?? '', /exceeds the max frame size/);
    await eventually(() => lines.filter((l) => l.msg === 'amqp connection closed: framing error').length === before + 1, 'one log line');
  });

  test('a frame that does not decode closes the connection with amqp:decode-error; other connections go on', async () => {
    const other = await client();
    const s = await other.sender('bad.other');
    const c = await client();
    const err = connectionError(c);
    // A well-framed AMQP frame (size 16, doff 2, type 0, channel 0) whose body is not a performative.
    const frame = Buffer.from([0, 0, 0, 16, 2, 0, 0, 0, 0x00, 0x53, 0x10, 0xff, 0xff, 0xff, 0xff, 0xff]);
    socketOf(c).write(frame);
    const e = await err;
    assert.equal(e.condition, 'amqp:decode-error');
    assert.equal((await other.send(s, { body: 'still fine' })).state, 'accepted');
  });

  test('more sessions than channel-max close the connection with amqp:connection:framing-error', async () => {
    const c = await client();
    const err = connectionError(c);
    for (let i = 0; i < 5; i++) (c.connection as unknown as { create_session(): { begin(): void } }).create_session().begin();
    assert.equal((await err).condition, 'amqp:connection:framing-error');
  });
});

describe('links', () => {
  test('a message over the max message size detaches the link with amqp:link:message-size-exceeded; stored messages stay', async () => {
    const c = await client();
    const s = await c.sender('bad.size');
    assert.equal((await c.send(s, { body: 'small', durable: true })).state, 'accepted');
    const closed = new Promise<{ condition: string }>((resolve) => s.once('sender_close', () => resolve((s as unknown as { error: { condition: string } }).error)));
    s.send({ body: rhea.message.data_section(Buffer.alloc(4096, 7)) });
    assert.equal((await closed).condition, 'amqp:link:message-size-exceeded');
    assert.equal((s as unknown as { remote: { attach: { max_message_size: number } } }).remote.attach.max_message_size, 2048, 'the limit is advertised');
    assert.equal(broker.core.getQueue('bad.size')!.messageCount, 1);
    const s2 = await c.sender('bad.size');
    assert.equal((await c.send(s2, { body: 'after' })).state, 'accepted', 'the connection goes on');
  });

  test('transfers beyond the granted credit detach the link with amqp:link:transfer-limit-exceeded', async () => {
    const c = await client();
    const s = await c.sender('bad.credit');
    const closed = new Promise<{ condition: string }>((resolve) => s.once('sender_close', () => resolve((s as unknown as { error: { condition: string } }).error)));
    // The broker granted 2; a misbehaving client sends 5 at once.
    (s as unknown as { credit: number }).credit = 5;
    for (let i = 0; i < 5; i++) s.send({ body: `m${i}` });
    assert.equal((await closed).condition, 'amqp:link:transfer-limit-exceeded');
    // Credit the broker topped up between reads counts too; what was within credit is stored, in order.
    const stored = broker.core.browse('bad.credit').map((m) => m.body.toString());
    assert.ok(stored.length >= 2 && stored.length < 5, `stored ${stored.length}`);
    assert.deepEqual(stored, ['m0', 'm1', 'm2', 'm3'].slice(0, stored.length));
  });

  test('a message that does not decode is rejected with amqp:decode-error; the link goes on', async () => {
    const c = await client();
    const s = await c.sender('bad.decode');
    const rejected = new Promise<{ condition: string }>((resolve) =>
      s.once('rejected', (ctx) => resolve((ctx.delivery as unknown as { remote_state: { error: { condition: string } } }).remote_state.error)),
    );
    (s as unknown as { send(b: Buffer, tag: Buffer, format: number): void }).send(Buffer.from([0x00, 0x53, 0x77, 0xa1, 0x20, 0x41]), Buffer.from('t1'), 0);
    assert.equal((await rejected).condition, 'amqp:decode-error');
    assert.equal((await c.send(s, { body: 'good' })).state, 'accepted');
  });
});

/** Sends `parts` as the frames of one delivery on `s` (rhea splits only at the peer's max frame size); `aborted` marks the last. */
function sendFrames(s: rhea.Sender, parts: Buffer[], opts: { aborted?: boolean } = {}): rhea.Delivery {
  const send = s as unknown as { send(b: Buffer, tag: Buffer, format: number): rhea.Delivery & { data: Buffer[] } };
  const d = send.send(Buffer.concat(parts), Buffer.from(`f${Math.random()}`), 0);
  d.data = parts; // rhea writes each entry as one transfer frame, on the next tick
  if (opts.aborted) {
    const session = (s as unknown as { session: { output(frame: { delivery_id?: number; more?: boolean; aborted?: boolean }, payload?: Buffer): void } }).session;
    const output = session.output;
    session.output = function (frame, payload) {
      if (frame.delivery_id === d.id && !frame.more) {
        frame.aborted = true;
        session.output = output;
      }
      return output.call(this, frame, payload);
    };
  }
  return d;
}

describe('transfers', () => {
  test('an aborted delivery is discarded: nothing stored, no outcome; the link goes on', { timeout: 20_000 }, async () => {
    const c = await client();
    const s = await c.sender('bad.abort');
    // The first frame holds whole sections (application-properties), the aborted last one the rest.
    const encoded = rhea.message.encode({ application_properties: { a: 1 }, body: 'never' });
    const cut = encoded.indexOf(Buffer.from([0x00, 0x53, 0x77]));
    const outcomes: string[] = [];
    for (const o of ['accepted', 'rejected', 'released', 'modified'] as const) s.on(o, () => outcomes.push(o));
    sendFrames(s, [encoded.subarray(0, cut), encoded.subarray(cut)], { aborted: true });
    assert.equal((await c.send(s, { body: 'after' })).state, 'accepted');
    assert.deepEqual(broker.core.browse('bad.abort').map((m) => m.body.toString()), ['after']);
    assert.deepEqual(outcomes, ['accepted'], 'no outcome for the aborted delivery');
  });

  test('a message in several frames that does not decode is rejected with amqp:decode-error; the connection goes on', { timeout: 20_000 }, async () => {
    const c = await client();
    const s = await c.sender('bad.frames');
    const rejected = new Promise<{ condition: string }>((resolve) =>
      s.once('rejected', (ctx) => resolve((ctx.delivery as unknown as { remote_state: { error: { condition: string } } }).remote_state.error)),
    );
    // A data section announcing 16 bytes of which only 2 come, over two frames.
    sendFrames(s, [Buffer.from([0x00, 0x53, 0x75, 0xa0]), Buffer.from([0x10, 0x01, 0x02])]);
    assert.equal((await rejected).condition, 'amqp:decode-error');
    assert.equal((await c.send(s, { body: 'good' })).state, 'accepted');
  });

  test('a disposition over every delivery id (0..2^32-1) settles the deliveries there are; the broker goes on', { timeout: 20_000 }, async () => {
    const c = await client();
    await c.send(await c.sender('bad.range'), { body: 'one' });
    const r = await c.receiver('bad.range', 1);
    await r.next();
    const session = (r.link as unknown as { session: { output(frame: unknown): void } }).session;
    // rhea visits each id of the range: before the broker narrowed it, this frame held its event loop for half a minute.
    const { disposition } = createRequire(import.meta.url)('rhea/lib/frames.js') as { disposition(f: Record<string, unknown>): unknown };
    session.output(disposition({ role: true, first: 0, last: 0xffffffff, settled: true, state: (rhea.message as unknown as { accepted(): { described(): unknown } }).accepted().described() }));
    await eventually(() => broker.core.getQueue('bad.range')!.messageCount === 0, 'the delivery acked');
    const other = await client();
    assert.equal((await other.send(await other.sender('bad.range'), { body: 'two' })).state, 'accepted');
  });
});

describe('idle timeout', () => {
  test('a peer that stops sending is closed with amqp:resource-limit-exceeded', async () => {
    const b = await startBroker({ amqp: { idleTimeout: 100 } });
    try {
      const c = await AmqpTestClient.connect(b.ports.amqp!);
      const conn = c.connection as unknown as { remote: { open: { idle_time_out?: number } }; heartbeat_out?: NodeJS.Timeout };
      assert.equal(conn.remote.open.idle_time_out, 100);
      // Stop the client's heartbeats: it goes silent.
      conn.remote.open.idle_time_out = undefined;
      clearTimeout(conn.heartbeat_out);
      const e = await connectionError(c);
      assert.equal(e.condition, 'amqp:resource-limit-exceeded');
    } finally {
      await b.stop();
    }
  });
});
