/**
 * The connection counts (`ConnectionDirectory.counts()`/`totals()`, the overview's `connections`)
 * after thousands of quick connects and disconnects of every kind: a STOMP CONNECT cut off at once,
 * wrong-protocol bytes (HTTP on the MQTT and AMQP ports), WebSocket upgrades closed at once, and
 * sockets refused by the gate (more at once from one address than `maxPerAddress`). Every count
 * comes back to zero, none goes negative, and opened = closed: no drift.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import WebSocket from 'ws';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { RawStomp } from '../helpers/raw-stomp.ts';

let broker: TestBroker;
before(async () => {
  broker = await startBroker({ connections: { maxPerAddress: 40 } });
});
after(() => broker.close());

/** Opens a socket to `port`, writes `bytes`, and resolves once it is closed (by either side). */
function poke(port: number, bytes: string | undefined, hangUp: boolean): Promise<void> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => {
      if (bytes !== undefined) s.write(bytes);
      if (hangUp) s.destroy();
    });
    s.on('error', () => undefined);
    s.on('close', () => resolve());
    s.setTimeout(5000, () => s.destroy());
  });
}

function wsPoke(port: number, protocol: string): Promise<void> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`, protocol);
    ws.on('open', () => ws.terminate());
    ws.on('error', () => undefined);
    ws.on('close', () => resolve());
  });
}

async function overviewConnections(): Promise<Record<string, number>> {
  const res = await fetch(`http://127.0.0.1:${broker.ports.http}/api/v1/overview`);
  assert.equal(res.status, 200);
  return ((await res.json()) as { connections: Record<string, number> }).connections;
}

test('counts stay right after thousands of quick connects and disconnects, refused ones included', { timeout: 180_000 }, async () => {
  const { stomp, mqtt, amqp, ws } = broker.ports as { stomp: number; mqtt: number; amqp: number; ws: number };
  const negatives: string[] = [];
  for (let round = 0; round < 30; round++) {
    const batch: Array<Promise<void>> = [];
    // 60 at once from one address: some over maxPerAddress (40), refused by the gate.
    for (let i = 0; i < 12; i++) {
      batch.push(poke(stomp, 'CONNECT\naccept-version:1.2\nhost:localhost\n\n\0', i % 2 === 0));
      batch.push(poke(mqtt, 'GET / HTTP/1.1\r\nhost: x\r\n\r\n', false));
      batch.push(poke(amqp, 'XXXXXXXX', false));
      batch.push(poke(amqp, 'AMQP\x03\x01\x00\x00', true));
      batch.push(wsPoke(ws, ['stomp', 'mqtt', 'amqp'][i % 3]!));
    }
    await Promise.all(batch);
    const c = await overviewConnections();
    for (const [k, v] of Object.entries(c)) if (typeof v === 'number' && v < 0) negatives.push(`${k}=${v} in round ${round}`);
  }
  assert.deepEqual(negatives, []);
  // The overview reads the once-a-second sample: wait for one taken after the last close.
  const zero = { stomp: 0, mqtt: 0, amqp: 0 };
  let counts = await overviewConnections();
  for (let i = 0; i < 200 && JSON.stringify(counts) !== JSON.stringify(zero); i++) {
    await delay(25);
    counts = await overviewConnections();
  }
  assert.deepEqual(counts, zero, 'every count back to zero');
});

async function mgmt(method: string, p: string): Promise<{ status: number; body: any }> {
  const res = await fetch(`http://127.0.0.1:${broker.ports.http}/api/v1${p}`, { method });
  const text = await res.text();
  return { status: res.status, body: text === '' ? undefined : JSON.parse(text) };
}

test('closing a STOMP connection mid-transaction rolls it back; its id then answers 404; a close racing the client close is fine', async () => {
  const c = await RawStomp.connect(broker.ports.stomp!);
  await c.request('BEGIN', { transaction: 't1' });
  await c.request('SEND', { destination: '/queue/dur.tx', transaction: 't1', persistent: 'true' }, 'in tx');
  const listed = await mgmt('GET', '/connections?protocol=stomp');
  assert.equal(listed.status, 200);
  assert.equal(listed.body.items.length, 1);
  const id = listed.body.items[0].id;
  assert.equal((await mgmt('DELETE', `/connections/${id}`)).status, 200);
  await c.closed();
  // COMMIT never arrives: nothing of the transaction reached the queue.
  assert.equal(broker.core.getQueue('dur.tx')?.messageCount ?? 0, 0);
  // The client sees the close a moment before the broker's socket 'close' runs.
  for (let i = 0; i < 100 && (await mgmt('GET', '/connections')).body.items.length > 0; i++) await delay(20);
  assert.equal((await mgmt('DELETE', `/connections/${id}`)).status, 404, 'an id that just closed');
  // The client's DISCONNECT and the administrator's close at once.
  const d = await RawStomp.connect(broker.ports.stomp!);
  const id2 = (await mgmt('GET', '/connections?protocol=stomp')).body.items[0].id;
  d.send('DISCONNECT', {});
  d.destroy();
  const both = await mgmt('DELETE', `/connections/${id2}`);
  assert.ok(both.status === 200 || both.status === 404, String(both.status));
  for (let i = 0; i < 100 && (await mgmt('GET', '/connections')).body.items.length > 0; i++) await delay(20);
  assert.equal((await mgmt('GET', '/connections?protocol=stomp')).body.items.length, 0);
});
