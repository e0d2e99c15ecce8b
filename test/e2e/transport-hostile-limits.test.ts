import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { assertServed, watchAttack } from '../helpers/attack.ts';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { captureLog } from '../helpers/log-capture.ts';
import { connectPacket } from '../helpers/raw-mqtt.ts';

// Issue 11 item 10: every listener caps the connections open at once, overall (connections.max) and
// per remote address (connections.maxPerAddress); a refused socket is closed at once and the refusals
// are logged once per burst. Linux routes all of 127/8 to lo, so 127.0.0.2 and 127.0.0.3 are other
// hosts as far as the broker can tell.

const { logger, lines: logLines } = captureLog();
let broker: TestBroker;

before(async () => {
  broker = await startBroker(
    {
      store: { type: 'memory' },
      connections: { max: 50, maxPerAddress: 20 },
      // Admitted connections stay for the whole test.
      stomp: { connectTimeout: 120_000 },
      mqtt: { connectTimeout: 120_000 },
    },
    { logger },
  );
});
after(() => broker.stop());

type Listener = 'stomp' | 'mqtt' | 'amqp' | 'ws';
const LISTENERS: Listener[] = ['stomp', 'mqtt', 'amqp', 'ws'];
let seq = 0;

/** The first bytes of each protocol's handshake, and how its answer starts. */
function hello(listener: Listener): { send: Buffer; answer: (d: Buffer) => boolean } {
  switch (listener) {
    case 'stomp':
      return { send: Buffer.from('CONNECT\naccept-version:1.2\nhost:localhost\n\n\0'), answer: (d) => d.toString('latin1').startsWith('CONNECTED') };
    case 'mqtt':
      return { send: connectPacket({ clientId: `limits-${process.pid}-${++seq}` }), answer: (d) => d[0] === 0x20 };
    case 'amqp':
      return { send: Buffer.from('AMQP\x00\x01\x00\x00', 'latin1'), answer: (d) => d.toString('latin1').startsWith('AMQP') };
    case 'ws':
      return {
        send: Buffer.from(`GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${crypto.randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: v12.stomp\r\n\r\n`),
        answer: (d) => d.toString('latin1').startsWith('HTTP/1.1 101'),
      };
  }
}

interface Probe {
  socket: net.Socket;
  outcome: 'admitted' | 'refused';
}

/** Connects from `from` and starts the protocol's handshake: admitted when the broker answers it, refused when the socket closes first. */
function probe(listener: Listener, from: string): Promise<Probe> {
  const port = broker.ports[listener]!;
  return new Promise((resolve) => {
    const { send, answer } = hello(listener);
    const socket = net.connect({ port, host: '127.0.0.1', localAddress: from }, () => socket.write(send));
    socket.on('error', () => undefined); // a refused socket may be reset
    socket.once('data', (d: Buffer) => resolve({ socket, outcome: answer(d) ? 'admitted' : 'refused' }));
    socket.once('close', () => resolve({ socket, outcome: 'refused' }));
  });
}

async function probes(n: number, from: string): Promise<Probe[]> {
  const out: Probe[] = [];
  for (let i = 0; i < n; i++) out.push(await probe(LISTENERS[i % LISTENERS.length]!, from));
  return out;
}

const refusals = (): Array<Record<string, unknown>> => logLines.filter((l) => l.code === 'ERR_TRANSPORT_CONNECTION_LIMIT');

describe('connection limits over every listener', () => {
  test('per address, then overall: the next connections are refused at once, logged once; others and the bystander are served', async (t) => {
    const watch = await watchAttack({ stompPort: broker.ports.stomp! }); // 1 connection from 127.0.0.1
    await watch.roundTrips(1);
    const opened: Probe[] = [];
    try {
      // 127.0.0.1 holds the bystander: 19 more fit under maxPerAddress 20, on every listener alike.
      const local = await probes(30, '127.0.0.1');
      opened.push(...local);
      assert.deepEqual(local.map((p) => p.outcome), [...Array(19).fill('admitted'), ...Array(11).fill('refused')]);
      assert.equal(refusals().length, 1, 'one log line for the burst');
      assert.equal(refusals()[0]!.limit, 'connections.maxPerAddress');
      // Another host is not held back by 127.0.0.1's count: 20 more (40 open in all).
      const other = await probes(20, '127.0.0.2');
      opened.push(...other);
      assert.ok(other.every((p) => p.outcome === 'admitted'), other.map((p) => p.outcome).join(','));
      // A third host reaches the overall max (50) after 10.
      const third = await probes(15, '127.0.0.3');
      opened.push(...third);
      assert.deepEqual(third.map((p) => p.outcome), [...Array(10).fill('admitted'), ...Array(5).fill('refused')]);
      assert.equal(refusals().length, 1, 'still one log line: the refusals are one burst');
      await watch.roundTrips(2);
      // Once 127.0.0.1's connections close, a new client from it is served again.
      for (const p of local) p.socket.destroy();
      let again: Probe | undefined;
      for (let i = 0; i < 100 && again?.outcome !== 'admitted'; i++) {
        again?.socket.destroy();
        if (i > 0) await new Promise((r) => setTimeout(r, 20)); // the broker sees the closes a moment later
        again = await probe('stomp', '127.0.0.1');
      }
      assert.equal(again!.outcome, 'admitted');
      again!.socket.destroy();
      const report = await watch.stop();
      t.diagnostic(`bystander round trips ${report.roundTrips}, max ${report.maxRoundTripMs} ms; log lines for refusals: ${refusals().length}`);
      assertServed(report);
    } finally {
      for (const p of opened) p.socket.destroy();
    }
  });
});
