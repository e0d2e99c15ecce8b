import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import WebSocket from 'ws';
import type { JunctionConfigInput } from '../../src/config/schema.ts';
import { assertServed, watchAttack } from '../helpers/attack.ts';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { captureLog, type LogCapture, type LogLine } from '../helpers/log-capture.ts';
import { RawMqtt, connectPacket, subscribePacket } from '../helpers/raw-mqtt.ts';
import { RawStomp } from '../helpers/raw-stomp.ts';

// Issue 11 item 7 (the transport's part): a connection that does not read what the broker sends is
// closed once its outgoing buffer has stayed over the high-water mark for
// connections.slowConsumerTimeout (ActiveMQ's AbortSlowConsumerStrategy), or at once past
// connections.maxOutboundBytes; logged once; the same for TCP and WebSocket.

/** A broker whose log lines the test can wait for. */
async function brokerWithLog(config: JunctionConfigInput): Promise<{ broker: TestBroker } & Omit<LogCapture, 'logger'>> {
  const { logger, lines, waitFor } = captureLog();
  const broker = await startBroker({ store: { type: 'memory' }, ...config }, { logger });
  return { broker, lines, waitFor };
}

/** The transport's one log line for a connection it closed as a slow consumer. */
const isSlow = (l: LogLine): boolean => l.code === 'ERR_TRANSPORT_SLOW_CONSUMER';

/**
 * Sends `size`-byte messages to `destination` (a receipt every 8, so the producer itself is never the one
 * held) until `stop()` says so, at most `max` of them (2000 of 16 KiB: 32 MiB, several times what
 * loopback's socket buffers take for a reader that reads nothing, about 4 MiB here).
 */
async function produce(port: number, destination: string, size: number, max: number, stop: () => boolean): Promise<number> {
  const p = await RawStomp.connect(port, undefined, { timeout: 30_000 });
  const body = Buffer.alloc(size, 0x6d);
  let n = 0;
  try {
    while (n < max && !stop()) {
      for (let i = 0; i < 8; i++) p.send('SEND', { destination, 'content-length': String(body.length) }, body);
      n += 8;
      await p.request('SEND', { destination: '/queue/producer.sync' }, 'sync');
    }
  } finally {
    p.destroy();
  }
  return n;
}

const SUBSCRIBE = (queue: string): Record<string, string> => ({ id: 's1', destination: `/queue/${queue}`, ack: 'auto', 'activemq.prefetchSize': '1000000' });

describe('slow consumers are closed by the transport', () => {
  test('STOMP over TCP: a consumer whose socket is never read is closed after slowConsumerTimeout, logged once; the bystander is served', async (t) => {
    const { broker, lines, waitFor } = await brokerWithLog({ connections: { slowConsumerTimeout: 1000 } });
    try {
      const watch = await watchAttack({ stompPort: broker.ports.stomp! });
      const consumer = await RawStomp.connect(broker.ports.stomp!, undefined, { timeout: 30_000 });
      consumer.send('SUBSCRIBE', SUBSCRIBE('slow.tcp'));
      await consumer.request('SEND', { destination: '/queue/other' }, 'subscribed'); // SUBSCRIBE handled
      consumer.socket.pause();
      const sent = await produce(broker.ports.stomp!, '/queue/slow.tcp', 16 * 1024, 2000, () => lines.some(isSlow));
      const line = await waitFor(isSlow, 'slow consumer closed');
      assert.equal(line.protocol, 'stomp');
      assert.equal(line.transport, 'tcp');
      assert.match(String(line.remote), /^127\.0\.0\.1:\d+$/);
      // The consumer sees its connection end once it reads again.
      consumer.socket.resume();
      await consumer.closed();
      const report = await watch.stop();
      t.diagnostic(`${sent} messages of 16 KiB sent; congested ${String(line.congestedMs)} ms, ${String(line.queued)} bytes queued; RSS ${Math.round(report.rssStart / 1048576)} -> ${Math.round(report.rssMax / 1048576)} MiB`);
      assert.equal(lines.filter(isSlow).length, 1, 'logged once');
      assertServed(report);
    } finally {
      await broker.stop();
    }
  });

  test('STOMP over WebSocket: the same policy closes a WebSocket consumer that does not read', async () => {
    const { broker, lines, waitFor } = await brokerWithLog({ connections: { slowConsumerTimeout: 1000 } });
    try {
      const watch = await watchAttack({ stompPort: broker.ports.stomp! });
      const ws = new WebSocket(`ws://127.0.0.1:${broker.ports.ws}`, 'v12.stomp');
      await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
      const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
      const first = new Promise<string>((resolve) => ws.once('message', (d) => resolve(d.toString())));
      ws.send('CONNECT\naccept-version:1.2\nhost:localhost\n\n\0');
      assert.match(await first, /^CONNECTED/);
      const receipt = new Promise<string>((resolve) => ws.once('message', (d) => resolve(d.toString())));
      ws.send(`SUBSCRIBE\nid:s1\ndestination:/queue/slow.ws\nack:auto\nactivemq.prefetchSize:1000000\nreceipt:sub\n\n\0`);
      assert.match(await receipt, /^RECEIPT/);
      ws.pause();
      await produce(broker.ports.stomp!, '/queue/slow.ws', 16 * 1024, 2000, () => lines.some(isSlow));
      const line = await waitFor(isSlow, 'slow consumer closed');
      assert.equal(line.protocol, 'stomp');
      assert.equal(line.transport, 'ws');
      ws.resume();
      await closed;
      assert.equal(lines.filter(isSlow).length, 1, 'logged once');
      assertServed(await watch.stop());
    } finally {
      await broker.stop();
    }
  });

  test('MQTT over TCP: the same policy closes a QoS 0 subscriber that does not read', async () => {
    const { broker, lines, waitFor } = await brokerWithLog({ connections: { slowConsumerTimeout: 1000 } });
    try {
      const watch = await watchAttack({ stompPort: broker.ports.stomp! });
      const sub = await RawMqtt.connect(broker.ports.mqtt!);
      sub.send(connectPacket({ clientId: 'slow-mqtt' }));
      assert.equal((await sub.next()).type, 2); // CONNACK
      sub.send(subscribePacket(1, 'slow/mqtt/#', 0));
      assert.equal((await sub.next()).type, 9); // SUBACK
      sub.socket.pause();
      await produce(broker.ports.stomp!, '/topic/slow.mqtt.x', 16 * 1024, 2000, () => lines.some(isSlow));
      const line = await waitFor(isSlow, 'slow consumer closed');
      assert.equal(line.protocol, 'mqtt');
      assert.equal(line.transport, 'tcp');
      sub.socket.resume();
      await sub.waitClosed(30_000);
      assert.equal(lines.filter(isSlow).length, 1, 'logged once');
      assert.equal(lines.filter((l) => l.code === 'ERR_TRANSPORT_SLOW_CONSUMER' || (typeof l.msg === 'string' && l.msg.includes('closed on error'))).length, 1, 'and not again by the protocol');
      assertServed(await watch.stop());
    } finally {
      await broker.stop();
    }
  });

  test('maxOutboundBytes: a write that leaves more than the cap queued closes the connection at once', async () => {
    const { broker, lines, waitFor } = await brokerWithLog({ connections: { slowConsumerTimeout: 0, maxOutboundBytes: 2 * 1024 * 1024 } });
    try {
      const watch = await watchAttack({ stompPort: broker.ports.stomp! });
      const consumer = await RawStomp.connect(broker.ports.stomp!, undefined, { timeout: 30_000 });
      consumer.send('SUBSCRIBE', SUBSCRIBE('slow.cap'));
      await consumer.request('SEND', { destination: '/queue/other' }, 'subscribed');
      consumer.socket.pause();
      const isCap = (l: LogLine): boolean => l.code === 'ERR_TRANSPORT_OUTBOUND_LIMIT';
      await produce(broker.ports.stomp!, '/queue/slow.cap', 3 * 1024 * 1024, 400, () => lines.some(isCap));
      const line = await waitFor(isCap, 'outbound limit');
      assert.ok(Number(line.queued) > 2 * 1024 * 1024);
      consumer.socket.resume();
      await consumer.closed();
      assertServed(await watch.stop());
    } finally {
      await broker.stop();
    }
  });
});
