import assert from 'node:assert/strict';
import { once } from 'node:events';
import { test } from 'node:test';
import mqttPacket from 'mqtt-packet';
import type { TransportConnection } from '../../../../src/transport/connection.ts';
import { MqttConnectionStream } from '../../../../src/protocols/mqtt/connection.ts';

/** A transport that records what is written and lets the test congest and drain it. */
class FakeConnection implements TransportConnection {
  readonly id = 1;
  readonly kind = 'tcp' as const;
  readonly remoteAddress = 'test';
  readonly connectedAt = 0;
  readonly bytesIn = 0;
  readonly bytesOut = 0;
  congested = false;
  readonly writes: Buffer[] = [];
  private drain: (() => void) | null = null;
  write(data: Buffer): boolean {
    this.writes.push(Buffer.from(data));
    return !this.congested;
  }
  onData(): void {}
  onDrain(cb: () => void): void {
    this.drain = cb;
  }
  onClose(): void {}
  pause(): void {}
  resume(): void {}
  end(): void {}
  destroy(): void {}
  drained(): void {
    this.congested = false;
    this.drain?.();
  }
}

function parseAll(bytes: Buffer): Array<Record<string, unknown>> {
  const parser = mqttPacket.parser({ protocolVersion: 4 });
  const out: Array<Record<string, unknown>> = [];
  parser.on('packet', (p) => out.push(p as unknown as Record<string, unknown>));
  parser.on('error', (err) => assert.fail(err));
  parser.parse(bytes);
  return out;
}

test('everything written in one tick reaches the transport as one write, in order', async () => {
  const conn = new FakeConnection();
  const s = new MqttConnectionStream(conn, 1024);
  mqttPacket.writeToStream({ cmd: 'puback', messageId: 7 }, s as unknown as NodeJS.WritableStream);
  s.writePublish(Buffer.from('a/b'), Buffer.from('hello'), 0, false, 0);
  mqttPacket.writeToStream({ cmd: 'puback', messageId: 8 }, s as unknown as NodeJS.WritableStream);
  assert.equal(conn.writes.length, 0);
  await new Promise((r) => process.nextTick(r));
  assert.equal(conn.writes.length, 1);
  const packets = parseAll(conn.writes[0]!);
  assert.deepEqual(packets.map((p) => [p.cmd, p.messageId ?? p.topic]), [['puback', 7], ['publish', 'a/b'], ['puback', 8]]);
});

test('writePublish encodes PUBLISH packets that mqtt-packet decodes: QoS 0/1/2, DUP, multi-byte lengths, empty payload', async () => {
  const conn = new FakeConnection();
  const s = new MqttConnectionStream(conn, 1024);
  const big = Buffer.alloc(200_000, 0x61);
  s.writePublish(Buffer.from('t/0'), Buffer.from([0, 1, 255]), 0, false, 0);
  s.writePublish(Buffer.from('t/1/caf\u00e9', 'utf8'), Buffer.from('one'), 1, true, 65535);
  s.writePublish(Buffer.from('t/2'), big, 2, false, 1);
  s.writePublish(Buffer.from('t/empty'), Buffer.alloc(0), 1, false, 300);
  await new Promise((r) => process.nextTick(r));
  const packets = parseAll(Buffer.concat(conn.writes));
  assert.deepEqual(
    packets.map((p) => [p.topic, p.qos, p.dup, p.messageId, (p.payload as Buffer).length]),
    [
      ['t/0', 0, false, undefined, 3],
      ['t/1/caf\u00e9', 1, true, 65535, 3],
      ['t/2', 2, false, 1, big.length],
      ['t/empty', 1, false, 300, 0],
    ],
  );
  assert.deepEqual(packets[0]!.payload, Buffer.from([0, 1, 255]));
  assert.equal(packets.every((p) => p.retain === false), true);
});

test('write asks to wait while the transport is congested, and drain follows the transport draining', async () => {
  const conn = new FakeConnection();
  const s = new MqttConnectionStream(conn, 1024);
  conn.congested = true;
  assert.equal(s.write(Buffer.from([0xc0, 0x00])), false);
  await new Promise((r) => process.nextTick(r));
  assert.equal(conn.writes.length, 1);
  let drained = false;
  s.once('drain', () => (drained = true));
  await new Promise((r) => setImmediate(r));
  assert.equal(drained, false);
  conn.drained();
  assert.equal(drained, true);
});

test('more than the high-water mark gathered in one tick asks to wait; drain follows the write', async () => {
  const conn = new FakeConnection();
  const s = new MqttConnectionStream(conn, 1024);
  let ok = true;
  let n = 0;
  while (ok) {
    ok = s.writePublish(Buffer.from('t'), Buffer.alloc(1000), 0, false, 0);
    n++;
  }
  assert.ok(n > 1 && n < 100);
  await once(s, 'drain');
  assert.equal(conn.writes.length, 1);
  assert.equal(parseAll(conn.writes[0]!).length, n);
});

test('a write callback runs once the bytes are handed to the transport; after destroy it gets an error', async () => {
  const conn = new FakeConnection();
  const s = new MqttConnectionStream(conn, 1024);
  const err = await new Promise<Error | null | undefined>((resolve) => s.write(Buffer.from([0xd0, 0x00]), resolve));
  assert.equal(err, null);
  assert.equal(conn.writes.length, 1);
  s.destroy();
  const after = await new Promise<Error | null | undefined>((resolve) => s.write(Buffer.from([0xd0, 0x00]), resolve));
  assert.ok(after instanceof Error);
  assert.equal(conn.writes.length, 1);
});
