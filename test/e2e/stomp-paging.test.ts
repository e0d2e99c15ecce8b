import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { RawStomp, type RawFrame } from '../helpers/raw-stomp.ts';

const brokers: TestBroker[] = [];
const clients: RawStomp[] = [];

after(async () => {
  for (const c of clients) c.destroy();
  for (const b of brokers) await b.stop();
});

async function broker(config: Parameters<typeof startBroker>[0]): Promise<TestBroker> {
  const b = await startBroker(config);
  brokers.push(b);
  return b;
}

async function client(b: TestBroker): Promise<RawStomp> {
  const c = await RawStomp.connect(b.ports.stomp!, { 'accept-version': '1.2', host: 'localhost' }, { timeout: 15_000 });
  c.socket.setNoDelay(true);
  clients.push(c);
  return c;
}

/** Sends `n` persistent messages pipelined, each with a receipt, and waits for every receipt. */
async function sendAll(c: RawStomp, dest: string, n: number, body: (i: number) => string): Promise<void> {
  for (let i = 0; i < n; i++) c.send('SEND', { destination: dest, persistent: 'true', seq: String(i), receipt: `r${i}` }, body(i));
  for (let got = 0; got < n; ) {
    const f = await c.nextFrame();
    assert.equal(f.command, 'RECEIPT', `${f.command}: ${f.header('message')}`);
    got++;
  }
}

async function messages(c: RawStomp, n: number): Promise<RawFrame[]> {
  const out: RawFrame[] = [];
  while (out.length < n) {
    const f = await c.nextFrame();
    assert.equal(f.command, 'MESSAGE', `${f.command}: ${f.header('message')}`);
    out.push(f);
  }
  return out;
}

const kib = (i: number) => `m${i}:`.padEnd(1024, 'x');

describe('paging over STOMP', () => {
  test('a backlog over the memory limit is paged to the journal and delivered in order with bodies intact', async () => {
    const b = await broker({ globalMaxSizeBytes: 256 * 1024 });
    const p = await client(b);
    await sendAll(p, '/queue/paged', 2000, kib);
    const stats = b.core.queueStats().find((s) => s.name === 'paged')!;
    assert.equal(stats.messages, 2000);
    assert.ok(stats.paged > 1000, `most of the backlog is paged (${stats.paged})`);
    assert.ok(b.core.brokerStats().memoryBytes <= 256 * 1024 + 4096, `memory bounded (${b.core.brokerStats().memoryBytes})`);

    const c = await client(b);
    c.send('SUBSCRIBE', { destination: '/queue/paged', id: 's', ack: 'client-individual', 'activemq.prefetchSize': '500' });
    const got: RawFrame[] = [];
    while (got.length < 2000) {
      const batch = await messages(c, 100);
      for (const f of batch) c.send('ACK', { id: f.header('ack')! });
      got.push(...batch);
    }
    assert.deepEqual(got.map((f) => Number(f.header('seq'))), Array.from({ length: 2000 }, (_, i) => i));
    assert.ok(got.every((f, i) => f.text === kib(i)), 'bodies intact');
  });

  test('BLOCK holds a producer\'s receipts until a consumer makes room', async () => {
    const b = await broker({ addressSettings: { blocked: { maxSizeBytes: 4 * 1100, addressFullPolicy: 'BLOCK' } } });
    const p = await client(b);
    for (let i = 0; i < 8; i++) p.send('SEND', { destination: '/queue/blocked', seq: String(i), receipt: `r${i}` }, kib(i));
    const early: string[] = [];
    for (let i = 0; i < 4; i++) early.push((await p.nextFrame()).header('receipt-id')!);
    assert.deepEqual(early, ['r0', 'r1', 'r2', 'r3']);
    // The fifth send waits for room: its receipt must not arrive while nobody consumes.
    const pending = p.nextFrame();
    const raced = await Promise.race([pending.then(() => 'receipt'), new Promise((r) => setTimeout(() => r('quiet'), 300))]);
    assert.equal(raced, 'quiet');
    assert.equal(b.core.brokerStats().blockedSends, 4, 'the other four sends wait, in order');

    const c = await client(b);
    c.send('SUBSCRIBE', { destination: '/queue/blocked', id: 's', ack: 'client-individual' });
    const got: RawFrame[] = [];
    while (got.length < 8) {
      const [f] = await messages(c, 1);
      c.send('ACK', { id: f!.header('ack')! });
      got.push(f!);
    }
    assert.deepEqual(got.map((f) => Number(f.header('seq'))), [0, 1, 2, 3, 4, 5, 6, 7]);
    assert.equal((await pending).header('receipt-id'), 'r4');
  });

  test('FAIL over the broker memory limit answers ERROR and keeps what was stored', async () => {
    const b = await broker({ globalMaxSizeBytes: 3 * 1100, addressSettings: { '>': { addressFullPolicy: 'FAIL' } } });
    const p = await client(b);
    await sendAll(p, '/queue/full', 3, kib);
    p.send('SEND', { destination: '/queue/full', receipt: 'r-over' }, kib(3));
    const err = await p.nextFrame();
    assert.equal(err.command, 'ERROR');
    assert.equal(err.header('message'), 'Destination is full');
    assert.equal(err.header('receipt-id'), 'r-over');
    const c = await client(b);
    c.send('SUBSCRIBE', { destination: '/queue/full', id: 's', ack: 'auto' });
    assert.deepEqual((await messages(c, 3)).map((f) => Number(f.header('seq'))), [0, 1, 2]);
  });
});
