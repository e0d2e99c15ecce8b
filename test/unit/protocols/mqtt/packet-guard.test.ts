import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { PacketGuard } from '../../../../src/protocols/mqtt/packet-guard.ts';
import { connectPacket, publishPacket, puback } from '../../../helpers/raw-mqtt.ts';

/** Feeds `bytes` to a fresh guard split at every offset (and one byte at a time); returns the error code or undefined. */
function check(bytes: Buffer, max = 1024): Array<string | undefined> {
  const out: Array<string | undefined> = [];
  const run = (chunks: Buffer[]) => {
    const g = new PacketGuard(max);
    try {
      for (const c of chunks) g.push(c);
      return undefined;
    } catch (err) {
      return (err as { code: string }).code;
    }
  };
  for (let i = 0; i <= bytes.length; i++) out.push(run([bytes.subarray(0, i), bytes.subarray(i)]));
  out.push(run([...bytes].map((b) => Buffer.from([b]))));
  return out;
}

describe('PacketGuard', () => {
  test('passes a stream of well-formed packets, however it is split', () => {
    const stream = Buffer.concat([connectPacket({ clientId: 'c' }), publishPacket('a/b', 'hello', { qos: 1, id: 3 }), publishPacket('caf\u00e9', ''), puback(3), Buffer.from([0xc0, 0x00])]);
    assert.ok(check(stream).every((r) => r === undefined));
  });

  test('refuses a packet over the limit from its declared length', () => {
    const big = publishPacket('t', Buffer.alloc(2000));
    assert.ok(check(big.subarray(0, 5), 1024).every((r) => r === 'ERR_MQTT_PACKET_TOO_LARGE'));
    assert.ok(check(big, 4096).every((r) => r === undefined));
  });

  test('refuses a remaining length of more than 4 bytes', () => {
    assert.ok(check(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]), 1 << 30).every((r) => r === 'ERR_MQTT_MALFORMED'));
  });

  test('refuses a PUBLISH topic that is not UTF-8 or holds U+0000', () => {
    assert.ok(check(publishPacket(Buffer.from([0x61, 0xc3, 0x28]), 'x')).every((r) => r === 'ERR_MQTT_TOPIC_INVALID'));
    assert.ok(check(publishPacket(Buffer.from([0x61, 0x00]), 'x')).every((r) => r === 'ERR_MQTT_TOPIC_INVALID'));
  });

  test('refuses a topic length that overruns the packet', () => {
    assert.ok(check(Buffer.from([0x30, 0x03, 0x00, 0x05, 0x61])).every((r) => r === 'ERR_MQTT_MALFORMED'));
  });
});
