import assert from 'node:assert/strict';
import { after, afterEach, describe, test } from 'node:test';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { assertServed, watchDuring, type AttackReport, type ServedBounds } from '../helpers/attack.ts';
import { RawStomp, writeUntilStalled } from '../helpers/raw-stomp.ts';
import type { JunctionConfigInput } from '../../src/config/schema.ts';

// Issue 11, items 7 and 8 (STOMP side), over real sockets: a consumer that never reads its socket
// cannot make the broker write its queue into that socket (whatever the ack mode and prefetch asked
// for), and an open transaction cannot buffer without limit. A bystander (watchAttack) is served
// throughout; the broker's RSS is measured.

const brokers: TestBroker[] = [];
const clients: RawStomp[] = [];
after(async () => {
  for (const b of brokers) await b.stop();
});
afterEach(() => {
  for (const c of clients.splice(0)) c.destroy();
});

async function broker(config: JunctionConfigInput): Promise<TestBroker> {
  const b = await startBroker({ store: { sync: 'never' }, ...config });
  brokers.push(b);
  return b;
}

async function client(b: TestBroker, headers: Record<string, string> = { 'accept-version': '1.2', host: 'localhost' }): Promise<RawStomp> {
  const c = await RawStomp.connect(b.ports.stomp!, headers, { timeout: 30_000 });
  clients.push(c);
  return c;
}

async function watched(b: TestBroker, bounds: ServedBounds, fn: () => Promise<void>): Promise<AttackReport> {
  const report = await watchDuring({ stompPort: b.ports.stomp! }, fn);
  const mib = (n: number) => Math.round(n / 1048576);
  console.log(`attack report: RSS ${mib(report.rssStart)} -> ${mib(report.rssMax)} MiB, lag ${Math.round(report.maxLagMs)} ms, bystander ${report.roundTrips} round trips (slowest ${report.maxRoundTripMs} ms)`);
  assertServed(report, bounds);
  return report;
}

/** Waits for a condition the broker reaches on its own (a connection's cleanup after its socket closed). */
async function eventually(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`not reached within ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setImmediate(r));
  }
}

function stats(b: TestBroker, queue: string) {
  const s = b.core.queueStats().find((q) => q.name === queue);
  assert.ok(s, `queue ${queue} exists`);
  return s;
}

const KiB = 1024;
const MiB = 1024 * 1024;

describe('a consumer that never reads (issue 11 item 7)', () => {
  const body = Buffer.alloc(4 * KiB, 'x');
  const send = (c: RawStomp, queue: string) => c.send('SEND', { destination: `/queue/${queue}`, 'content-length': String(body.length) }, body);

  test('auto, client and client-individual consumers asking for prefetch 10,000,000 that never read get about a socket buffer of messages, not the queue', async () => {
    // Limits high enough that nothing pages: the queue keeps what the consumer cannot take.
    const b = await broker({ globalMaxSizeBytes: 512 * MiB });
    const N = 6000;
    const modes = ['auto', 'client', 'client-individual'] as const;
    await watched(b, { maxRssGrowthMiB: 200 }, async () => {
      for (const mode of modes) {
        const attacker = await client(b);
        await attacker.request('SUBSCRIBE', { id: '1', destination: `/queue/hostile.slow.${mode}`, ack: mode, 'activemq.prefetchSize': '10000000' });
        attacker.socket.pause();
      }
      const producer = await client(b);
      // In batches behind a receipt, so the producer's own socket never holds more than a batch.
      for (let i = 0; i < N; i += 500) {
        for (const mode of modes) {
          for (let j = i; j < i + 499; j++) send(producer, `hostile.slow.${mode}`);
          await producer.request('SEND', { destination: `/queue/hostile.slow.${mode}`, 'content-length': String(body.length) }, body);
        }
      }
      for (const mode of modes) {
        const s = stats(b, `hostile.slow.${mode}`);
        const written = s.acked + s.inDelivery;
        // What the kernel's socket buffers take before the connection counts as congested, plus one
        // message: a few MiB, not the 23 MiB the queue holds.
        assert.ok(written < N / 4, `${mode}: ${written} of ${N} messages were written into a socket nobody reads (${JSON.stringify(s)})`);
        assert.equal(s.messages + s.acked, N, `${mode}: every message is still queued or was delivered`);
      }
    });
  });

  test('under addressFullPolicy BLOCK, an auto-ack consumer that never reads holds the producer instead of draining the queue into its socket', async () => {
    const b = await broker({ addressSettings: { 'hostile.block.>': { maxSizeBytes: 4 * MiB, addressFullPolicy: 'BLOCK' } } });
    const N = 12_000;
    const queue = 'hostile.block.auto';
    await watched(b, { maxRssGrowthMiB: 128 }, async () => {
      const attacker = await client(b);
      await attacker.request('SUBSCRIBE', { id: '1', destination: `/queue/${queue}`, ack: 'auto', 'activemq.prefetchSize': '10000000' });
      attacker.socket.pause();
      const producer = await client(b);
      const blocked = eventually('a send blocked', () => b.core.brokerStats().blockedSends > 0, 60_000).then(() => 'blocked' as const);
      let sent = 0;
      let outcome: 'blocked' | 'sent' = 'sent';
      while (sent < N && outcome === 'sent') {
        for (let j = 0; j < 99; j++) send(producer, queue);
        sent += 100;
        outcome = await Promise.race([producer.request('SEND', { destination: `/queue/${queue}`, 'content-length': String(body.length) }, body).then(() => 'sent' as const), blocked]);
      }
      assert.equal(outcome, 'blocked', `all ${N} messages went through: the broker wrote them into a socket nobody reads`);
      const s = stats(b, queue);
      assert.ok(s.acked < N / 4, `${s.acked} messages were written into the socket (${JSON.stringify(s)})`);
      producer.destroy();
      attacker.destroy();
    });
  });

  test('a requested prefetch is capped at stomp.maxPrefetch', async () => {
    const b = await broker({ stomp: { maxPrefetch: 50 } });
    await watched(b, {}, async () => {
      const consumer = await client(b);
      await consumer.request('SUBSCRIBE', { id: '1', destination: '/queue/hostile.prefetch', ack: 'client-individual', 'activemq.prefetchSize': '10000000' });
      const producer = await client(b);
      for (let i = 0; i < 199; i++) producer.send('SEND', { destination: '/queue/hostile.prefetch' }, `m${i}`);
      await producer.request('SEND', { destination: '/queue/hostile.prefetch' }, 'm199');
      // Non-persistent sends are dispatched before their RECEIPT: the consumer has all it will get.
      assert.equal(stats(b, 'hostile.prefetch').inDelivery, 50);
      const first = await consumer.nextFrame();
      assert.equal(first.text, 'm0');
      await consumer.request('ACK', { id: first.header('ack')! });
      assert.equal(stats(b, 'hostile.prefetch').inDelivery, 50, 'one ack, one more message');
      assert.equal(stats(b, 'hostile.prefetch').acked, 1);
    });
  });
});

describe('open transactions (issue 11 item 8)', () => {
  const limits = { transactions: { maxBytes: 4 * MiB, maxPerConnection: 4 }, globalMaxSizeBytes: 16 * MiB };

  test('a transaction over transactions.maxBytes gets an ERROR and its memory back; RSS stays bounded', async () => {
    const b = await broker(limits);
    const body = Buffer.alloc(MiB, 'y');
    await watched(b, { maxRssGrowthMiB: 96 }, async () => {
      const attacker = await client(b);
      await attacker.request('BEGIN', { transaction: 't1' });
      // 100 x 1 MiB (the 200 x 4 MiB, scaled to the lowered limits), each awaited so the
      // attacker's own socket holds one at a time.
      let error;
      for (let i = 0; i < 100 && !error; i++) {
        attacker.send('SEND', { destination: '/queue/hostile.tx', transaction: 't1', receipt: `r${i}`, 'content-length': String(body.length) }, body);
        const f = await attacker.nextFrame();
        if (f.command === 'ERROR') error = f;
        else assert.equal(f.command, 'RECEIPT');
      }
      assert.ok(error, 'the transaction got an ERROR');
      assert.equal(error.header('message'), 'Transaction limit exceeded');
      await attacker.closed();
      await eventually('the transaction released', () => b.core.transactionBytes === 0);
      assert.equal(b.core.brokerStats().memoryBytes, 0);
      assert.equal(stats(b, 'hostile.tx').messages, 0, 'nothing of the transaction was sent');
    });
  });

  test('transactions together may not hold more than globalMaxSizeBytes; ABORT, COMMIT and disconnect release theirs', async () => {
    const b = await broker(limits);
    const body = Buffer.alloc(MiB, 'z');
    const half = body.subarray(0, MiB / 2);
    const txSend = (c: RawStomp, part: Buffer) => c.request('SEND', { destination: '/queue/hostile.txsum', transaction: 'tx', 'content-length': String(part.length) }, part);
    await watched(b, {}, async () => {
      // Four transactions of 3.5 MiB (14 MiB) and a fifth of 1 MiB fit under the 16 MiB broker limit.
      const holders: RawStomp[] = [];
      for (let t = 0; t < 5; t++) {
        const c = await client(b);
        holders.push(c);
        await c.request('BEGIN', { transaction: 'tx' });
        if (t === 4) await txSend(c, body);
        else for (const part of [body, body, body, half]) await txSend(c, part);
      }
      // A message counts its body, 64 bytes and its address (core messageSize).
      const overhead = 64 + 'hostile.txsum'.length;
      const each = 3.5 * MiB + 4 * overhead;
      const held = b.core.transactionBytes;
      assert.equal(held, 4 * each + MiB + overhead);
      assert.equal(b.core.brokerStats().memoryBytes, held, 'the transactions count against the memory limits');
      // The fifth one's next MiB would pass 16 MiB.
      const last = holders[4]!;
      last.send('SEND', { destination: '/queue/hostile.txsum', transaction: 'tx', 'content-length': String(body.length) }, body);
      const error = await last.nextFrame();
      assert.equal(error.command, 'ERROR');
      assert.equal(error.header('message'), 'Transaction limit exceeded');
      assert.match(error.text, /16777216/);
      await last.closed();
      await eventually('the refused connection released its transaction', () => b.core.transactionBytes === 4 * each);
      await holders[0]!.request('ABORT', { transaction: 'tx' });
      assert.equal(b.core.transactionBytes, 3 * each);
      await holders[1]!.request('COMMIT', { transaction: 'tx' });
      assert.equal(b.core.transactionBytes, 2 * each);
      assert.equal(stats(b, 'hostile.txsum').messages, 4, 'the committed transaction was sent');
      holders[2]!.destroy();
      holders[3]!.destroy();
      await eventually('disconnects released their transactions', () => b.core.transactionBytes === 0);
      assert.equal(b.core.brokerStats().memoryBytes, stats(b, 'hostile.txsum').bytes, 'only the queued messages are left in memory');
    });
  });

  test('more than transactions.maxPerConnection open transactions get an ERROR', async () => {
    const b = await broker(limits);
    await watched(b, {}, async () => {
      const attacker = await client(b);
      for (let i = 0; i < 4; i++) await attacker.request('BEGIN', { transaction: `t${i}` });
      attacker.send('BEGIN', { transaction: 't4', receipt: 'r' });
      const error = await attacker.nextFrame();
      assert.equal(error.command, 'ERROR');
      assert.equal(error.header('message'), 'Transaction limit exceeded');
      assert.match(error.text, /4 open transactions/);
      await attacker.closed();
    });
  });
});

describe('frames waiting to be handled (pipelined behind a blocked one)', () => {
  // A queue that is full under BLOCK once the filler's 2 KB are in: a SEND of 1 KB more waits for room that never comes.
  const config: JunctionConfigInput = { store: { type: 'memory' }, addressSettings: { 'hostile.full': { maxSizeBytes: 3000, addressFullPolicy: 'BLOCK' } } };

  async function blockedConnection(b: TestBroker): Promise<RawStomp> {
    const filler = await client(b);
    await filler.request('SEND', { destination: '/queue/hostile.full' }, 'x'.repeat(2000));
    const attacker = await client(b);
    // A SEND that waits for room, and a COMMIT that waits for it (earlier SENDs are confirmed first).
    attacker.send('SEND', { destination: '/queue/hostile.full' }, 'b'.repeat(1000));
    attacker.send('BEGIN', { transaction: 't' });
    attacker.send('COMMIT', { transaction: 't' });
    return attacker;
  }

  test('frames behind a COMMIT that waits are not read without bound: the connection stops being read', async () => {
    const b = await broker(config);
    const pad = 'p'.repeat(8000);
    const total = 20_000;
    await watched(b, { maxRssGrowthMiB: 96 }, async () => {
      const attacker = await blockedConnection(b);
      // 20,000 small frames with 8 KB of headers each (160 MB), all waiting behind the COMMIT.
      function* frames() {
        for (let i = 0; i < total; i++) yield RawStomp.frame('BEGIN', { transaction: `x${i}`, pad });
      }
      const written = await writeUntilStalled(attacker, frames());
      assert.ok(written < total * 8000 / 4, `the broker read ${Math.round(written / 1048576)} MiB of frames it cannot handle yet`);
      attacker.destroy();
    });
  });

  test('SENDs waiting for room are held up to stomp.maxInflightBytes, then the connection stops being read', async () => {
    const b = await broker({ ...config, stomp: { maxInflightBytes: 8 * MiB } });
    const body = Buffer.alloc(MiB, 's');
    await watched(b, { maxRssGrowthMiB: 96 }, async () => {
      const attacker = await blockedConnection(b);
      function* frames() {
        for (let i = 0; i < 200; i++) yield RawStomp.frame('SEND', { destination: '/queue/hostile.full', 'content-length': String(body.length) }, body);
      }
      const written = await writeUntilStalled(attacker, frames());
      assert.ok(written < 64 * MiB, `the broker read ${Math.round(written / 1048576)} MiB of SENDs it cannot store`);
      attacker.destroy();
    });
  });
});
