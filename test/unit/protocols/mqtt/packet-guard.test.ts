import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { PacketGuard } from '../../../../src/protocols/mqtt/packet-guard.ts';
import { connectPacket, publishPacket, puback, pubcomp, pubrec, pubrel, subscribeManyPacket, unsubscribePacket } from '../../../helpers/raw-mqtt.ts';

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

  test('passes packet ids other than 0, wills of QoS 0-2 and SUBSCRIBEs of QoS 0-2, however split', () => {
    const stream = Buffer.concat([
      connectPacket({ clientId: 'c', will: { topic: 'w', payload: 'x', qos: 2, retain: true } }),
      publishPacket('a', 'b', { qos: 2, id: 65535 }),
      subscribeManyPacket(1, ['a/#', '', 'b'], 2),
      subscribeManyPacket(2, ['c'], 0),
      unsubscribePacket(3, ['a/#']),
      puback(1), pubrec(2), pubrel(3), pubcomp(4),
      publishPacket('', '', { qos: 1, id: 9 }),
    ]);
    assert.ok(check(stream).every((r) => r === undefined));
  });

  test('refuses packet id 0 on a QoS 1/2 PUBLISH, SUBSCRIBE, UNSUBSCRIBE, PUBACK, PUBREC, PUBREL, PUBCOMP [MQTT-2.3.1-1]', () => {
    for (const p of [publishPacket('a', 'b', { qos: 1, id: 0 }), publishPacket('a', '', { qos: 2, id: 0 }), subscribeManyPacket(0, ['a'], 0), unsubscribePacket(0, ['a']), puback(0), pubrec(0), pubrel(0), pubcomp(0)]) {
      assert.ok(check(p).every((r) => r === 'ERR_MQTT_PROTOCOL'), p.toString('hex'));
    }
    // QoS 0: no packet id.
    assert.ok(check(publishPacket('a', Buffer.from([0, 0]), { qos: 0 })).every((r) => r === undefined));
  });

  test('refuses a CONNECT whose will has QoS 3 [MQTT-3.1.2-14]', () => {
    const c = connectPacket({ clientId: 'c', will: { topic: 'w', payload: 'x', qos: 2 } });
    const at = c.indexOf(Buffer.from('MQTT')) + 5;
    c[at] = c[at]! | 0x18;
    assert.ok(check(c).every((r) => r === 'ERR_MQTT_PROTOCOL'));
    // QoS 3 bits without the will flag are the codec's to refuse (not a will).
    const d = connectPacket({ clientId: 'c' });
    d[at] = d[at]! | 0x18;
    assert.ok(check(d).every((r) => r === undefined));
  });

  test('refuses a SUBSCRIBE asking for QoS 3 [MQTT-3.8.3-4] and a filter length past the packet', () => {
    assert.ok(check(subscribeManyPacket(1, ['a', 'b'], 3)).every((r) => r === 'ERR_MQTT_PROTOCOL'));
    const s = subscribeManyPacket(1, ['abc'], 1);
    s[5] = 9; // the filter's length low byte: past the packet
    assert.ok(check(s).every((r) => r === 'ERR_MQTT_MALFORMED'));
  });

  test('refuses a field that does not fit its packet (mqtt-packet would read it from the next packet)', () => {
    const cases: Array<[string, Buffer]> = [
      ['PUBCOMP of 0 bytes, then a packet', Buffer.from([0x70, 0x00, 0x40, 0x02, 0x00, 0x01])],
      ['PUBACK of 3 bytes', Buffer.from([0x40, 0x03, 0x00, 0x01, 0x00])],
      ['QoS 1 PUBLISH without its packet id', Buffer.from([0x32, 0x03, 0x00, 0x01, 0x61])],
      ['PUBLISH of 1 byte', Buffer.from([0x30, 0x01, 0x00])],
      ['SUBSCRIBE without a filter', Buffer.from([0x82, 0x02, 0x00, 0x01])],
      ['UNSUBSCRIBE filter past the packet', Buffer.from([0xa2, 0x05, 0x00, 0x01, 0x00, 0x09, 0x61])],
      ['PINGREQ with a body', Buffer.from([0xc0, 0x01, 0x00])],
      ['CONNECT client id past the packet', (() => { const c = connectPacket({ clientId: 'abcdef' }); c[1] = c[1]! - 3; return c.subarray(0, c.length - 3); })()],
    ];
    for (const [what, b] of cases) assert.ok(check(b).every((r) => r === 'ERR_MQTT_MALFORMED'), `${what}: ${check(b).join(',')}`);
  });

  test('a CONNECT of a level other than 3, 4, 5 is refused with CONNACK 0x01 to write, before its other fields are read', () => {
    for (const level of [0, 1, 2, 6, 7, 127, 0x86]) {
      const c = connectPacket({ clientId: 'c', protocolLevel: level });
      assert.ok(check(c).every((r) => r === 'ERR_MQTT_PROTOCOL_VERSION'), `level ${level}`);
      // A future level's layout is unknown: a CONNECT cut right after its level byte is refused the same way.
      const at = c.indexOf(Buffer.from('MQTT')) + 4;
      const cut = Buffer.concat([Buffer.from([0x10, at - 1]), c.subarray(2, at + 1)]);
      assert.ok(check(cut).every((r) => r === 'ERR_MQTT_PROTOCOL_VERSION'), `cut, level ${level}`);
      const g = new PacketGuard(1024);
      assert.throws(() => g.push(c), { code: 'ERR_MQTT_PROTOCOL_VERSION' });
      assert.deepEqual([...g.reply!], [0x20, 0x02, 0x00, 0x01]);
    }
    for (const [protocolName, protocolLevel] of [['MQIsdp', 3], ['MQTT', 4], ['MQTT', 0x84]] as const) {
      const g = new PacketGuard(1024);
      g.push(connectPacket({ clientId: 'c', protocolName, protocolLevel }));
      assert.equal(g.reply, null);
    }
  });

  test('after an MQTT 5 CONNECT nothing more is read (the broker answers CONNACK 0x84)', () => {
    const v5 = connectPacket({ clientId: 'c', protocolLevel: 5 });
    // MQTT 5: a properties length (0) before the client id.
    const at = v5.indexOf(Buffer.from('MQTT')) + 8;
    const withProps = Buffer.concat([Buffer.from([0x10, v5[1]! + 1]), v5.subarray(2, at), Buffer.from([0]), v5.subarray(at)]);
    assert.ok(check(withProps).every((r) => r === undefined));
    assert.ok(check(Buffer.concat([withProps, Buffer.from([0xc0, 0x00])])).every((r) => r === 'ERR_MQTT_PROTOCOL_VERSION'));
  });
});
