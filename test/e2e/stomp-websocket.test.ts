import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { WebSocket } from 'ws';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { bodies, connect, connectFor, stats, type StompVersionName, type Transport } from '../helpers/stompjs.ts';

// STOMP over WebSocket (the `ws` client as stompjs's webSocketFactory) with each subprotocol,
// plus STOMP 1.2 header escaping, heart-beats and version negotiation on both transports.

describe('STOMP over WebSocket (stompjs + ws)', () => {
  let broker: TestBroker;
  before(async () => {
    broker = await startBroker();
  });
  after(() => broker.stop());

  const variants: Array<[string, StompVersionName]> = [
    ['v12.stomp', '1.2'],
    ['v11.stomp', '1.1'],
    ['v10.stomp', '1.0'],
  ];

  for (const [subprotocol, version] of variants) {
    describe(`subprotocol ${subprotocol}`, () => {
      const opts = { transport: 'ws' as const, subprotocols: [subprotocol], versions: [version] };
      const tag = subprotocol.replace('.stomp', '');

      test('negotiates the subprotocol and STOMP version', async (t) => {
        const c = await connectFor(t, broker, opts);
        assert.equal((c.socket as unknown as WebSocket).protocol, subprotocol);
        if (version === '1.0') assert.ok(['1.0', undefined].includes(c.connected.headers.version));
        else assert.equal(c.connected.headers.version, version);
        assert.match(c.connected.headers.server ?? '', /^Junction\//);
      });

      test('queue round trip', async (t) => {
        const c = await connectFor(t, broker, opts);
        const inbox = await c.subscribe(`/queue/ws.${tag}.q`);
        await c.send(`/queue/ws.${tag}.q`, 'over websocket', { color: 'teal' });
        const m = await inbox.one();
        assert.equal(m.body, 'over websocket');
        assert.equal(m.headers.color, 'teal');
        assert.equal(m.headers.destination, `/queue/ws.${tag}.q`);
        assert.equal(stats(broker, `ws.${tag}.q`).acked, 1);
      });

      test('topic fan-out to a WebSocket and a TCP subscriber', async (t) => {
        const wsClient = await connectFor(t, broker, opts);
        const tcpClient = await connectFor(t, broker);
        const a = await wsClient.subscribe(`/topic/ws.${tag}.t`);
        const b = await tcpClient.subscribe(`/topic/ws.${tag}.t`);
        for (const body of ['x', 'y', 'z']) await wsClient.send(`/topic/ws.${tag}.t`, body);
        assert.deepEqual(bodies(await a.take(3)), ['x', 'y', 'z']);
        assert.deepEqual(bodies(await b.take(3)), ['x', 'y', 'z']);
      });

      test('client acknowledgement; unacked messages return on reconnect', async (t) => {
        const c = await connect(broker, opts);
        for (const body of ['one', 'two']) await c.send(`/queue/ws.${tag}.ack`, body);
        const got = await (await c.subscribe(`/queue/ws.${tag}.ack`, { ack: 'client-individual' })).take(2);
        await c.ack(got[0]!);
        assert.equal(stats(broker, `ws.${tag}.ack`).acked, 1);
        assert.equal(stats(broker, `ws.${tag}.ack`).inDelivery, 1);
        await c.close();
        const again = await connectFor(t, broker, opts);
        const back = await (await again.subscribe(`/queue/ws.${tag}.ack`, { ack: 'client-individual' })).one();
        assert.equal(back.body, 'two');
        assert.equal(back.headers.redelivered, 'true');
        assert.equal(back.headers['message-id'], got[1]!.headers['message-id']);
        await again.ack(back);
        assert.equal(stats(broker, `ws.${tag}.ack`).messages, 0);
      });
    });
  }

  test('offering all three subprotocols selects v12.stomp and STOMP 1.2', async (t) => {
    const c = await connectFor(t, broker, { transport: 'ws' });
    assert.equal((c.socket as unknown as WebSocket).protocol, 'v12.stomp');
    assert.equal(c.connected.headers.version, '1.2');
  });

  test('a binary body with NUL bytes round-trips over WebSocket', async (t) => {
    const c = await connectFor(t, broker, { transport: 'ws' });
    const inbox = await c.subscribe('/queue/ws.binary');
    const body = Uint8Array.from([0, 1, 2, 0, 255, 254, 0, 10, 13, 0]);
    await c.send('/queue/ws.binary', body);
    assert.deepEqual(Buffer.from((await inbox.one()).binaryBody), Buffer.from(body));
  });
});

describe('STOMP 1.2 header escaping, heart-beats and version negotiation', () => {
  let broker: TestBroker;
  before(async () => {
    broker = await startBroker({ stomp: { heartBeat: [100, 100] } });
  });
  after(() => broker.stop());

  for (const transport of ['tcp', 'ws'] as Transport[]) {
    test(`header values with ':', LF, CR and '\\' round-trip in STOMP 1.2 (${transport})`, async (t) => {
      const c = await connectFor(t, broker, { transport });
      assert.equal(c.connected.headers.version, '1.2');
      const inbox = await c.subscribe(`/queue/escape.${transport}`);
      const headers = { colon: 'a:b', newline: 'line1\nline2', cr: 'x\ry', backslash: 'C:\\dir', mixed: 'k:v\nk2:v2' };
      await c.send(`/queue/escape.${transport}`, 'escaped', headers);
      const m = await inbox.one();
      for (const [k, v] of Object.entries(headers)) assert.equal(m.headers[k], v, `header ${k}`);
    });
  }

  for (const transport of ['tcp', 'ws'] as Transport[]) {
    test(`a 1 MiB binary body round-trips unchanged (${transport})`, async (t) => {
      const c = await connectFor(t, broker, { transport });
      const inbox = await c.subscribe(`/queue/big.${transport}`);
      const body = new Uint8Array(1024 * 1024);
      let x = 12345;
      for (let i = 0; i < body.length; i++) {
        x = (x * 1103515245 + 12345) >>> 0;
        body[i] = x >>> 24;
      }
      await c.send(`/queue/big.${transport}`, body);
      await c.send(`/queue/big.${transport}`, 'after-big');
      const [big, after] = await inbox.take(2);
      assert.ok(Buffer.from(big!.binaryBody).equals(Buffer.from(body)), 'body bytes differ');
      assert.equal(after!.body, 'after-big');
    });
  }

  test('the broker heart-beats a client that asks for it (1.1+)', async (t) => {
    const c = await connectFor(t, broker, { heartbeat: [0, 100] });
    assert.equal(c.connected.headers['heart-beat'], '100,100');
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no heart-beat from the broker within 5000 ms')), 5000);
      c.client.onHeartbeatReceived = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    assert.equal(c.closed, false);
  });

  test('a client that promised heart-beats and stays silent is disconnected', async (t) => {
    // stompjs sends its heart-beats from a timer; disabling it after CONNECT makes it go silent.
    const c = await connectFor(t, broker, { heartbeat: [100, 0] });
    const socket = c.socket!;
    const send = socket.send.bind(socket);
    socket.send = (data) => {
      if (data !== '\n') send(data);
    };
    await c.waitClosed();
  });

  test('an unsupported STOMP version gets an ERROR frame naming the supported versions', async () => {
    await assert.rejects(connect(broker, { versions: ['9.9' as StompVersionName] }), /ERROR on connect: Unsupported STOMP version Supported protocol versions are 1\.0,1\.1,1\.2$/);
  });
});
