import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import WebSocket from 'ws';
import { assertServed, watchAttack } from '../helpers/attack.ts';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { closeCode, upgrade } from '../helpers/raw-ws.ts';

// Issue 11 items 8/9 (WebSocket): ws buffers each connection's unfinished message, up to its
// protocol's maxPayload (STOMP ~4 MiB), before any protocol sees a byte. The transport counts those
// bytes over all WebSocket connections (connections.maxPartialMessageBytes: over it, a connection
// in the middle of a message stops being read) and closes a connection whose message stays
// unfinished past connections.messageTimeout (1008).

const MiB = 1024 * 1024;
const TIMEOUT = 2000;
const ATTACKERS = 40;

let broker: TestBroker;

before(async () => {
  // The budget is raised to STOMP's largest WebSocket message (~4 MiB) by the transport itself.
  // Over it, attackers are paused; the legitimate SEND below waits for their timeout.
  broker = await startBroker({ store: { type: 'memory' }, connections: { maxPartialMessageBytes: MiB, messageTimeout: TIMEOUT } });
});
after(() => broker.stop());

interface Attacker {
  socket: net.Socket;
  code: Promise<number | undefined>;
}

/**
 * Connects (STOMP CONNECT in its own message), then declares one 3 MiB binary message (a STOMP
 * SEND) and writes all of it but the last 64 KiB, in
 * 256 KiB writes, each waiting for the socket to drain (or 1 s, once the broker stops reading), so
 * this process buffers little of it.
 */
async function unfinished(port: number): Promise<Attacker> {
  const socket = await upgrade(port, 'v12.stomp');
  socket.on('error', () => undefined); // a reset once the server closes is expected
  const a: Attacker = { socket, code: closeCode(socket, 15_000) };
  let done = false;
  void a.code.then(() => (done = true));
  const total = 3 * MiB;
  const h = Buffer.alloc(14);
  h[0] = 0x82; // FIN, binary
  h[1] = 0x80 | 127;
  h.writeBigUInt64BE(BigInt(total), 2); // bytes 10-13: the mask key, zero: the payload goes as is
  const start = Buffer.from(`SEND\ndestination:/queue/partial\ncontent-length:${total - 64}\n\n`);
  // A complete CONNECT message first (the count starts again after it), then the unfinished SEND.
  const connect = Buffer.from('CONNECT\naccept-version:1.2\nhost:localhost\n\n\0');
  socket.write(Buffer.concat([Buffer.from([0x82, 0x80 | connect.length, 0, 0, 0, 0]), connect, h, start]));
  const chunk = Buffer.alloc(256 * 1024, 0x41);
  for (let sent = start.length; sent + chunk.length <= total - 64 * 1024 && !done; sent += chunk.length) {
    if (socket.write(chunk)) continue;
    let timer: NodeJS.Timeout | undefined;
    const drained = await new Promise<boolean>((r) => {
      timer = setTimeout(() => r(false), 1000);
      socket.once('drain', () => r(true));
      void a.code.then(() => r(false));
    });
    clearTimeout(timer);
    if (!drained) break;
  }
  return a;
}

describe('unfinished WebSocket messages: a transport-wide budget and a message timeout', () => {
  test('40 connections each holding most of a 3 MiB message: memory bounded, closed (1008) after messageTimeout, a 1 MiB SEND and the bystander served', async (t) => {
    const watch = await watchAttack({ stompPort: broker.ports.stomp! });
    await watch.roundTrips(2);
    const attackers = await Promise.all(Array.from({ length: ATTACKERS }, () => unfinished(broker.ports.ws!)));
    const firstClosed = Promise.race(attackers.map((a) => a.code));

    // A legitimate WebSocket STOMP client: its 1 MiB SEND starts once the attackers' messages have
    // timed out (started earlier, they time out first); the budget lets it through.
    const ws = new WebSocket(`ws://127.0.0.1:${broker.ports.ws}`, 'v12.stomp', { perMessageDeflate: false });
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    const frames: string[] = [];
    const next = (): Promise<string> => new Promise((resolve) => (frames.length ? resolve(frames.shift()!) : ws.once('message', () => resolve(frames.shift()!))));
    ws.on('message', (d) => frames.push(d.toString()));
    ws.send('CONNECT\naccept-version:1.2\nhost:localhost\n\n\0');
    assert.match(await next(), /^CONNECTED/);
    await firstClosed;
    const body = Buffer.alloc(MiB, 0x62);
    ws.send(Buffer.concat([Buffer.from(`SEND\ndestination:/queue/ws-partial-legit\ncontent-length:${body.length}\nreceipt:r1\n\n`), body, Buffer.from([0])]));
    assert.match(await next(), /^RECEIPT/);
    ws.close();

    const codes = await Promise.all(attackers.map((a) => a.code));
    await watch.roundTrips(2);
    const report = await watch.stop();
    t.diagnostic(`RSS ${Math.round(report.rssStart / MiB)} -> max ${Math.round(report.rssMax / MiB)} MiB, lag ${report.maxLagMs} ms, close codes ${[...new Set(codes)].join(',')}`);
    // Measured: without the budget RSS grew ~118 MiB (40 x ~3 MiB held by ws); with it ~45 MiB (the
    // budget, ~4 MiB once raised to STOMP's largest message, plus both sides' buffers and reads in flight).
    assertServed(report, { maxRssGrowthMiB: 80 });
    // 1008 (policy violation) once messageTimeout passes; before the fix nothing closed them.
    assert.deepEqual(codes, Array(ATTACKERS).fill(1008));
    for (const a of attackers) a.socket.destroy();
  });

  test('pings between complete messages for longer than messageTimeout do not count as an unfinished message', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${broker.ports.ws}`, 'v12.stomp', { perMessageDeflate: false });
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    const frames: string[] = [];
    const next = (): Promise<string> => new Promise((resolve) => (frames.length ? resolve(frames.shift()!) : ws.once('message', () => resolve(frames.shift()!))));
    ws.on('message', (d) => frames.push(d.toString()));
    let closed = false;
    ws.once('close', () => (closed = true));
    ws.send('CONNECT\naccept-version:1.2\nhost:localhost\n\n\0');
    assert.match(await next(), /^CONNECTED/);
    // RFC 6455 control frames are not messages: a client's keepalive pings (each answered with a
    // pong) over 1.5 x messageTimeout must not look like a message that never completes.
    for (let i = 0; i < 12 && !closed; i++) {
      ws.ping(Buffer.from('keepalive'));
      await new Promise((resolve) => (ws.once('pong', resolve), ws.once('close', resolve)));
      await new Promise((resolve) => setTimeout(resolve, TIMEOUT / 8));
    }
    assert.equal(closed, false);
    ws.send('SEND\ndestination:/queue/ws-partial-ping\nreceipt:r2\n\nhi\0');
    assert.match(await next(), /^RECEIPT/);
    ws.close();
  });
});
