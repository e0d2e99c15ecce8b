import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { startBroker } from '../helpers/broker.ts';

// The management listener's own limits: a client trickling its headers (slow loris) is closed at
// http.headersTimeout, HTTP connections count against the broker's connections.maxPerAddress, and
// closing the broker ends an open event stream instead of waiting for it.

/** Resolves when the server has closed `socket` (each test's timeout fails it otherwise: Node's own headers timeout is 60 s). */
function closed(socket: net.Socket): Promise<void> {
  return new Promise((resolve) => socket.on('close', () => resolve()));
}

test('a request whose headers never finish is closed at http.headersTimeout', { timeout: 20_000 }, async (t) => {
  const broker = await startBroker({ http: { headersTimeout: 500, requestTimeout: 1000 } });
  t.after(() => broker.stop());
  const s = net.connect(broker.ports.http!, '127.0.0.1');
  await new Promise((r) => s.once('connect', r));
  const gone = closed(s);
  s.on('error', () => {});
  let answer = '';
  s.on('data', (d) => (answer += d.toString()));
  s.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n');
  const timer = setInterval(() => s.write('X-Slow: 1\r\n'), 100);
  await gone;
  clearInterval(timer);
  assert.doesNotMatch(answer, /200 OK/, 'the trickled request was never served');
});

test('HTTP connections pass the broker connection gate (connections.maxPerAddress)', { timeout: 20_000 }, async (t) => {
  const broker = await startBroker({ connections: { maxPerAddress: 2 } });
  t.after(() => broker.stop());
  const held = [net.connect(broker.ports.http!, '127.0.0.1'), net.connect(broker.ports.http!, '127.0.0.1')];
  t.after(() => held.forEach((s) => s.destroy()));
  await Promise.all(held.map((s) => new Promise((r) => s.once('connect', r))));
  const third = net.connect(broker.ports.http!, '127.0.0.1');
  third.on('error', () => {});
  let got = 0;
  third.on('data', (d) => (got += d.length));
  third.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
  await closed(third);
  assert.equal(got, 0, 'refused before any HTTP');
  // Both held connections still serve.
  held[0]!.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
  const answer = await new Promise<string>((r) => held[0]!.once('data', (d) => r(d.toString())));
  assert.match(answer, /^HTTP\/1\.1 200/);
});

test('closing the broker ends an open event stream and does not wait for it', { timeout: 20_000 }, async () => {
  const broker = await startBroker();
  const res = await fetch(`http://127.0.0.1:${broker.ports.http}/api/v1/events?topics=stats`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type')!, /text\/event-stream/);
  const reader = res.body!.getReader();
  const ended = (async () => {
    try {
      while (!(await reader.read()).done);
    } catch {
      // a reset connection ends it too
    }
  })();
  await broker.stop();
  await ended;
  assert.equal((await fetch(`http://127.0.0.1:${broker.ports.http}/healthz`).catch(() => undefined)), undefined, 'nothing listens any more');
});
