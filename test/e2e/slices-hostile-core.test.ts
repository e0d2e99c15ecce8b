import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { StoreOp } from '../../src/core/ports/store.ts';
import { MemoryStore } from '../../src/store/memory-store.ts';
import { assertServed, watchAttack } from '../helpers/attack.ts';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { RawStomp } from '../helpers/raw-stomp.ts';

/**
 * Issue 11, item 6 (core part): long work on a client's request yields to the event loop in slices.
 * A STOMP queue browser over a 200,000-message queue, a purge of it, an expiry sweep over it and the
 * deletion of a durable subscription holding it each run while a bystander keeps being served.
 *
 * What shows the slicing without timing the broker: the store writes one event-loop turn makes (a
 * purge or sweep done in one turn writes all 200,000 removals in that turn), and the Buffer memory a
 * browser that does not read makes the broker hold (a browse done in one turn writes every frame
 * into the socket's buffer at once).
 */

const N = 200_000;
/** Store operations one slice may write (purge: 2,000 per turn; sweep: 500 moves of 2 ops). */
const MAX_OPS_PER_TURN = 5_000;

/** A MemoryStore that records the most operations committed within one event-loop turn. */
class TurnCountingStore extends MemoryStore {
  maxOpsPerTurn = 0;
  private opsThisTurn = 0;
  private turnEnd: NodeJS.Immediate | null = null;

  override commit(batch: StoreOp[]): Promise<void> {
    this.opsThisTurn += batch.length;
    this.maxOpsPerTurn = Math.max(this.maxOpsPerTurn, this.opsThisTurn);
    this.turnEnd ??= setImmediate(() => {
      this.opsThisTurn = 0;
      this.turnEnd = null;
    });
    return super.commit(batch);
  }

  reset(): void {
    this.maxOpsPerTurn = 0;
  }
}

async function fill(broker: TestBroker, destination: { type: 'queue' | 'topic'; name: string }, expiration?: number): Promise<void> {
  const body = Buffer.from('x'.repeat(16));
  for (let i = 0; i < N; ) {
    const batch: Array<Promise<unknown>> = [];
    for (const end = Math.min(N, i + 5000); i < end; i++) {
      batch.push(broker.core.send({ destination, body, durable: true, ...(expiration !== undefined ? { expiration } : {}) }));
    }
    await Promise.all(batch);
  }
}

describe('long work in slices (hostile)', () => {
  let broker: TestBroker;
  const store = new TurnCountingStore();
  before(async () => {
    broker = await startBroker({ globalMaxSizeBytes: 512 * 1024 * 1024 }, { store });
  });
  after(async () => {
    await broker.stop();
  });

  test('a browser that does not read a 200,000-message queue holds the broker to its socket buffer; a purge goes in slices', async () => {
    await fill(broker, { type: 'queue', name: 'big.q' });
    assert.equal(broker.core.getQueue('big.q')!.messageCount, N);
    const w = await watchAttack({ stompPort: broker.ports.stomp! });
    await w.roundTrips(2);

    // The browser subscribes, then stops reading.
    const external = process.memoryUsage().arrayBuffers;
    const socket = net.connect(broker.ports.stomp!, '127.0.0.1');
    let tail = '';
    let frames = 0;
    let ended: () => void = () => {};
    const end = new Promise<void>((resolve) => (ended = resolve));
    socket.on('data', (c: Buffer) => {
      for (const b of c) if (b === 0) frames++;
      tail = (tail + c.toString('latin1')).slice(-64);
      if (tail.includes('browser:end')) ended();
    });
    try {
      await new Promise((resolve) => socket.once('connect', resolve));
      socket.write('CONNECT\naccept-version:1.2\nhost:x\n\n\0SUBSCRIBE\nid:b\ndestination:/queue/big.q\nbrowser:true\n\n\0');
      await new Promise((resolve) => socket.once('data', resolve));
      socket.pause();
      await w.roundTrips(10);
      const held = process.memoryUsage().arrayBuffers - external;
      // Every frame written at once would be ~50 MiB of Buffers here.
      assert.ok(held < 16 * 1024 * 1024, `the broker holds ${Math.round(held / 1048576)} MiB of frames for a browser that does not read`);
      // Read on: every message, then browser:end.
      socket.resume();
      await end;
    } finally {
      socket.destroy();
    }
    assert.equal(frames, 1 + N + 1, 'CONNECTED, every message, browser:end');
    assert.equal(broker.core.getQueue('big.q')!.messageCount, N, 'browsing consumed nothing');

    store.reset();
    assert.equal(await broker.core.purge('big.q'), N);
    assert.equal(broker.core.getQueue('big.q')!.messageCount, 0);
    assert.ok(store.maxOpsPerTurn <= MAX_OPS_PER_TURN, `the purge stored ${store.maxOpsPerTurn} removals in one turn`);
    await w.roundTrips(2);
    assertServed(await w.stop());
  });

  test('an expiry sweep over 200,000 expired messages goes in slices', async () => {
    const expiration = Date.now() + 1000;
    await fill(broker, { type: 'queue', name: 'big.ttl' }, expiration);
    const w = await watchAttack({ stompPort: broker.ports.stomp! });
    const stats = () => broker.core.queueStats().find((s) => s.name === 'big.ttl')!;
    while (Date.now() <= expiration) await w.roundTrips(1);
    store.reset();
    // The sweep runs every second (expiryScanPeriod): the bystander is served until everything has moved.
    while (stats().messages > 0) await w.roundTrips(1);
    assert.equal(stats().expired, N);
    assert.ok(store.maxOpsPerTurn <= MAX_OPS_PER_TURN, `the sweep stored ${store.maxOpsPerTurn} operations in one turn`);
    // The dead-letter queue now holds 200,000 copies (with their dlqDeliveryFailureCause): memory it may hold.
    assertServed(await w.stop(), { maxRssGrowthMiB: 768 });
    await broker.core.purge('ActiveMQ.DLQ');
  });

  test('deleting a durable subscription that holds 200,000 messages gives their memory back', async () => {
    const owner = await RawStomp.connect(broker.ports.stomp!, { 'accept-version': '1.2', host: 'localhost', 'client-id': 'slices' });
    await owner.request('SUBSCRIBE', { id: 's', destination: '/topic/big.t', 'activemq.subscriptionName': 'hold' });
    await owner.request('UNSUBSCRIBE', { id: 's' });
    const baseline = broker.core.brokerStats().memoryBytes;
    await fill(broker, { type: 'topic', name: 'big.t' });
    assert.equal(broker.core.getQueue('slices.hold')!.messageCount, N);
    const w = await watchAttack({ stompPort: broker.ports.stomp! });
    await owner.request('UNSUBSCRIBE', { id: 's', 'activemq.subscriptionName': 'hold' });
    assert.equal(broker.core.getQueue('slices.hold'), undefined);
    // It stayed counted: every fill-and-unsubscribe cycle shrank the room of every other queue for good.
    assert.equal(broker.core.brokerStats().memoryBytes, baseline, 'the deleted subscription no longer counts against the memory limit');
    await w.roundTrips(2);
    assertServed(await w.stop());
    owner.destroy();
  });
});
