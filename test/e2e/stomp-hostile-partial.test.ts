import assert from 'node:assert/strict';
import net from 'node:net';
import { after, describe, test } from 'node:test';
import WebSocket from 'ws';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { assertServed, watchDuring } from '../helpers/attack.ts';
import { RawStomp } from '../helpers/raw-stomp.ts';

// Issue 11 (items 8/9, STOMP side), over real sockets: connections that each start a large frame and
// never finish it cannot make the broker hold maxBodyBytes each. Unfinished frames over all STOMP
// connections share stomp.maxPartialFrameBytes (a connection over it is not read), and a frame not
// finished within stomp.frameTimeout gets ERROR and close, even after CONNECT with heart-beat:0,0.
// A legitimate 1 MiB SEND still completes (it waits for the budget), and a bystander is served.

const KiB = 1024;
const MiB = 1024 * 1024;
const ATTACKERS = 40;
/** What each attacker claims (content-length) and sends of it: all but 1 KiB. */
const CLAIMED = 4 * MiB - 64 * KiB;
const SENT = CLAIMED - KiB;

const brokers: TestBroker[] = [];
after(async () => {
  for (const b of brokers) await b.stop();
});

async function broker(): Promise<TestBroker> {
  const b = await startBroker({
    store: { sync: 'never' },
    // 40 unfinished frames of ~4 MiB would hold ~160 MiB; the budget holds them to 8 MiB.
    stomp: { maxPartialFrameBytes: 8 * MiB, frameTimeout: 2000, connectTimeout: 3000 },
  });
  brokers.push(b);
  return b;
}

const PREFIX = Buffer.from(`CONNECT\naccept-version:1.2\nhost:localhost\nheart-beat:0,0\n\n\0SEND\ndestination:/queue/partial.attack\ncontent-length:${CLAIMED}\n\n`);

interface Attacker {
  /** Everything the broker sent back. */
  received(): string;
  /** Resolves when the broker closed the connection. */
  closed: Promise<void>;
  destroy(): void;
}

/** Resolves 'drain', or 'stalled' when the broker stops reading for `ms`, or 'closed'. */
function drained(on: (ev: 'drain' | 'close', f: () => void) => void, ms: number): Promise<string> {
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve('stalled'), ms);
    on('drain', () => (clearTimeout(t), resolve('drain')));
    on('close', () => (clearTimeout(t), resolve('closed')));
  });
}

/** Over TCP: CONNECT, then a SEND of CLAIMED bytes of which SENT are written, as fast as the broker reads them. */
async function tcpAttacker(port: number): Promise<Attacker> {
  const s = net.connect(port, '127.0.0.1');
  await new Promise<void>((r, j) => (s.once('connect', r), s.once('error', j)));
  s.on('error', () => {});
  let text = '';
  s.on('data', (d: Buffer) => (text += d.toString('latin1')));
  const closed = new Promise<void>((r) => s.once('close', () => r()));
  let isClosed = false;
  void closed.then(() => (isClosed = true));
  void (async () => {
    s.write(PREFIX);
    const chunk = Buffer.alloc(256 * KiB, 0x61);
    for (let sent = 0; sent < SENT && !isClosed; ) {
      const n = Math.min(chunk.length, SENT - sent);
      sent += n;
      if (!s.write(n === chunk.length ? chunk : chunk.subarray(0, n))) {
        if ((await drained((ev, f) => s.once(ev, f), 500)) !== 'drain') break;
      }
    }
  })();
  return { received: () => text, closed, destroy: () => s.destroy() };
}

/** Over WebSocket (v12.stomp): the same bytes, as WebSocket messages of 256 KiB; the frame spans them. */
async function wsAttacker(port: number): Promise<Attacker> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/`, ['v12.stomp'], { perMessageDeflate: false });
  await new Promise<void>((r, j) => (ws.once('open', () => r()), ws.once('error', j)));
  ws.on('error', () => {});
  let text = '';
  ws.on('message', (d: Buffer) => (text += Buffer.from(d).toString('latin1')));
  const closed = new Promise<void>((r) => ws.once('close', () => r()));
  void (async () => {
    ws.send(PREFIX);
    const chunk = Buffer.alloc(256 * KiB, 0x61);
    for (let sent = 0; sent < SENT && ws.readyState === WebSocket.OPEN; ) {
      const n = Math.min(chunk.length, SENT - sent);
      sent += n;
      ws.send(n === chunk.length ? chunk : chunk.subarray(0, n));
      // ws has no drain event of its own: wait while its socket's buffer is full.
      while (ws.bufferedAmount > MiB && ws.readyState === WebSocket.OPEN) await new Promise((r) => setTimeout(r, 20));
    }
  })();
  return { received: () => text, closed, destroy: () => ws.terminate() };
}

async function attack(kind: 'tcp' | 'ws') {
  const b = await broker();
  const stomp = b.ports.stomp!;
  // The legitimate producer/consumer connects before the attack (its CONNECT is not what is tested).
  const legit = await RawStomp.connect(stomp, { 'accept-version': '1.2', host: 'localhost' }, { timeout: 30_000 });
  await legit.request('SUBSCRIBE', { id: 'l', destination: '/queue/partial.legit', ack: 'auto' });
  const attackers: Attacker[] = [];
  let legitMs = 0;
  const report = await watchDuring({ stompPort: stomp }, async () => {
    for (let i = 0; i < ATTACKERS; i++) attackers.push(kind === 'tcp' ? await tcpAttacker(stomp) : await wsAttacker(b.ports.ws!));
    // While the attackers hold the budget: a whole 1 MiB SEND waits for room, then is stored.
    const started = Date.now();
    const body = Buffer.alloc(MiB, 0x6c);
    await legit.request('SEND', { destination: '/queue/partial.legit', 'content-length': String(body.length) }, body);
    legitMs = Date.now() - started;
    const msg = await legit.nextFrame();
    assert.equal(msg.command, 'MESSAGE');
    assert.equal(msg.body.length, MiB);
    // Every attacker is answered and closed: ERROR "Frame timeout" once its frame has run
    // frameTimeout, or (one that was never read, so never connected) the connect timeout.
    await Promise.all(
      attackers.map((a, i) =>
        Promise.race([
          a.closed,
          new Promise((_, j) => setTimeout(() => j(new Error(`attacker ${i} still open after 20 s; received ${JSON.stringify(a.received().slice(0, 200))}`)), 20_000).unref()),
        ]),
      ),
    );
  });
  for (const a of attackers) a.destroy();
  legit.destroy();
  await Promise.all(attackers.map((a) => a.closed));
  const mib = (n: number) => Math.round(n / MiB);
  const timedOut = attackers.filter((a) => a.received().includes('message:Frame timeout')).length;
  console.log(`${kind}: RSS ${mib(report.rssStart)} -> ${mib(report.rssMax)} MiB, lag ${Math.round(report.maxLagMs)} ms, bystander ${report.roundTrips} round trips (slowest ${report.maxRoundTripMs} ms); legit 1 MiB SEND ${legitMs} ms; ${timedOut}/${ATTACKERS} attackers got ERROR Frame timeout`);
  for (const [i, a] of attackers.entries()) assert.match(a.received(), /(^|\0)ERROR\n/, `attacker ${i} got an ERROR before the close`);
  assert.ok(timedOut > 0, 'attackers holding an unfinished frame got ERROR "Frame timeout"');
  // Without the budget the broker held ~40 x 4 MiB = 160 MiB of unfinished frames.
  assertServed(report, { maxRssGrowthMiB: 100 });
  // The closed attackers gave their bytes back: a fresh connection's 1 MiB SEND is read at once
  // (with the budget still spent it would wait for ever).
  const after = await RawStomp.connect(stomp, { 'accept-version': '1.2', host: 'localhost' }, { timeout: 10_000 });
  await after.request('SEND', { destination: '/queue/partial.legit', 'content-length': String(MiB) }, Buffer.alloc(MiB, 0x6d));
  after.destroy();
}

describe('unfinished STOMP frames (issue 11 items 8/9)', () => {
  test('over TCP: a shared budget and a frame timeout bound them; a legitimate 1 MiB SEND completes', { timeout: 90_000 }, async () => {
    await attack('tcp');
  });

  test('over WebSocket: the frame spans messages; the same budget and timeout apply', { timeout: 90_000 }, async () => {
    await attack('ws');
  });
});
