import assert from 'node:assert/strict';
import { once } from 'node:events';
import rhea from 'rhea';
import { after, before, describe, test } from 'node:test';
import { assertServed, watchAttack, type AttackReport } from '../helpers/attack.ts';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { AMQP_HEADER, perf, RawAmqp, terminus, until } from '../helpers/raw-amqp.ts';
import { RawStomp } from '../helpers/raw-stomp.ts';

// Links one AMQP connection can hold (issue 11: every resource a client can make the broker hold
// has a cap). amqp.maxLinksPerSession bounds a session, channelMax the sessions; together they let
// one connection hold 256 x 1024 = 262,144 links, each a core consumer or producer. The connection
// itself is capped by amqp.maxLinksPerConnection.

let broker: TestBroker;

before(async () => {
  broker = await startBroker();
});
after(async () => {
  await broker.stop();
});

const SESSIONS = 10;
const PER_SESSION = 1001; // under the default maxLinksPerSession (1024); 10,010 in all, over 10,000

function producerAttach(name: string, handle: number, channel: number): Buffer {
  return perf('attach', { name, handle, role: true, snd_settle_mode: 0, rcv_settle_mode: 0, source: terminus.source({}), target: terminus.target({ address: 'hostile.links' }), initial_delivery_count: 0 }, channel);
}

describe('links per connection', () => {
  test('one connection holds at most amqp.maxLinksPerConnection links across its sessions: beyond it amqp:resource-limit-exceeded', async () => {
    const watch = await watchAttack({ stompPort: broker.ports.stomp! });
    const a = await RawAmqp.connect(broker.ports.amqp!);
    let report: AttackReport;
    try {
    const begins: Buffer[] = [];
    for (let ch = 0; ch < SESSIONS; ch++) begins.push(perf('begin', { next_outgoing_id: 0, incoming_window: 100, outgoing_window: 100 }, ch));
    a.write(AMQP_HEADER, perf('open', { container_id: 'many-links' }), ...begins);
    await until(() => a.received.filter((r) => r.name === 'begin').length === SESSIONS, 'the begins');
    for (let ch = 0; ch < SESSIONS; ch++) {
      const attaches: Buffer[] = [];
      for (let h = 0; h < PER_SESSION; h++) attaches.push(producerAttach(`l${ch}.${h}`, h, ch));
      a.write(...attaches);
    }
    await until(() => a.received.some((r) => r.name === 'close') || a.received.filter((r) => r.name === 'attach').length === SESSIONS * PER_SESSION, 'the attaches answered or a close', 60_000);
    const attached = a.received.filter((r) => r.name === 'attach').length;
    assert.equal(a.closeError()?.condition, 'amqp:resource-limit-exceeded', `attached ${attached} links, close ${JSON.stringify(a.closeError())}`);
    // rhea may not have written every attach it answered before the close goes out.
    assert.ok(attached <= 10_000, `attached ${attached}`);
    await a.closedWithin();
    await watch.roundTrips(1);
    } finally {
      a.socket.destroy();
      report = await watch.stop();
    }
    assertServed(report, { maxLagMs: 5000 });
  });
});

describe('idle-time-out beyond a Node timer', () => {
  test('a peer asking for an idle-time-out of 2^32-1 ms does not get a frame every millisecond', async () => {
    const a = await RawAmqp.connect(broker.ports.amqp!);
    try {
      // rhea sends an empty frame every idle-time-out / 2 ms: 2^31-0.5 ms is past what setTimeout takes.
      a.write(AMQP_HEADER, perf('open', { container_id: 'long-idle', idle_time_out: 0xffffffff }));
      await until(() => a.received.some((r) => r.name === 'open'), 'our open');
      const start = a.frameCount;
      await new Promise((r) => setTimeout(r, 500));
      assert.ok(a.frameCount - start <= 2, `${a.frameCount - start} frames in 500 ms`);
    } finally {
      a.socket.destroy();
    }
  });
});

describe('drain under amqp.maxConsumerCredit', () => {
  test('a drain is answered at once when the broker holds back credit for unsettled deliveries', async () => {
    const capped = await startBroker({ store: { type: 'memory' }, amqp: { maxConsumerCredit: 2 } });
    const producer = await RawStomp.connect(capped.ports.stomp!, { 'accept-version': '1.2', host: 'localhost' });
    const container = rhea.create_container({ id: 'drainer' });
    const conn = container.connect({ host: '127.0.0.1', port: capped.ports.amqp!, reconnect: false });
    try {
      for (let i = 0; i < 5; i++) await producer.request('SEND', { destination: '/queue/drain.cap' }, `m${i}`);
      const receiver = conn.open_receiver({ source: { address: 'drain.cap' }, credit_window: 0, autoaccept: false });
      let got = 0;
      receiver.on('message', () => got++);
      await once(receiver, 'receiver_open');
      (receiver as unknown as { flow(n: number): void }).flow(10);
      await until(() => got === 2, 'the two deliveries maxConsumerCredit allows');
      // Qpid JMS drains for receiveNoWait/receive(timeout) and fails the consumer when no answer comes.
      receiver.drain_credit();
      let drained = false;
      receiver.once('receiver_drained', () => (drained = true));
      await until(() => drained, 'the drain answered', 3000);
      assert.equal((receiver as unknown as { credit: number }).credit, 0);
      assert.equal(got, 2);
    } finally {
      conn.close();
      producer.destroy();
      await capped.stop();
    }
  });
});
