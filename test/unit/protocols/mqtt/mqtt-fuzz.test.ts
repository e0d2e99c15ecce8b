import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import mqttPacket from 'mqtt-packet';
import { JunctionError } from '../../../../src/errors.ts';
import { PacketGuard } from '../../../../src/protocols/mqtt/packet-guard.ts';
import { fuzzCases, fuzzSeed, Rng } from '../../../helpers/fuzz.ts';
import { connectPacket, DISCONNECT, puback, pubcomp, publishPacket, pubrec, pubrel, subscribeManyPacket, unsubscribePacket } from '../../../helpers/raw-mqtt.ts';

// A seeded fuzz pass over MQTT packet decoding as the broker does it (issue 11): the bytes pass the
// PacketGuard, then mqtt-packet's parser (aedes's codec), chunk by chunk; the connection ends at the
// first error of either. `npm test` runs a few thousand cases with the fixed seed; `npm run fuzz`
// runs FUZZ_CASES (FUZZ_SEED picks another seed). A failure names the seed and case.
//
// Every case, whole or split anywhere, yields packets or an error (a JunctionError from the guard,
// an 'error' event from the parser), never a throw from the parser and never a hang; nothing decoded
// is larger than the bytes given (no length or count is believed past the bytes there); and no
// packet the guard refuses reaches the codec's consumer: no packet id 0 where one is required, no
// QoS 3 will or requested QoS, no topic name with U+0000 or ill-formed UTF-8.

const MAX_PACKET = 4096;

/** Valid packets of every kind a client sends, to mutate (each case starts with a CONNECT). */
const CONNECTS: Buffer[] = [
  connectPacket({ clientId: 'fuzz-1' }),
  connectPacket({ clientId: 'fuzz-2', clean: false, keepalive: 30, will: { topic: 'w/x', payload: 'gone', qos: 1, retain: true } }),
  connectPacket({ clientId: '', protocolLevel: 3 }),
  // MQTT 5 (the broker answers CONNACK 0x84; the codec parses properties meanwhile).
  Buffer.from('101800044d5154540502003c0511000000002100140003763531', 'hex'),
];
const OTHERS: Buffer[] = [
  publishPacket('a/b', 'hello', { qos: 0 }),
  publishPacket('a/b/c', Buffer.alloc(40, 7), { qos: 1, id: 1 }),
  publishPacket('caf\u00e9/x', 'y', { qos: 2, id: 65535, retain: true, dup: true }),
  publishPacket('', '', { qos: 0 }),
  subscribeManyPacket(2, ['a/+', 'b/#', '$share/g/c'], 1),
  subscribeManyPacket(3, ['x'], 2),
  unsubscribePacket(4, ['a/+', 'b/#']),
  puback(5),
  pubrec(6),
  pubrel(7),
  pubcomp(8),
  Buffer.from([0xc0, 0x00]),
  DISCONNECT,
];

interface Outcome {
  packets: Array<Record<string, unknown>>;
  error: string | undefined;
}

/** Runs `chunks` through a guard and a parser as one connection does; checks every packet as it comes. */
function run(input: Buffer, chunks: Buffer[], where: string): Outcome {
  const guard = new PacketGuard(MAX_PACKET);
  const parser = mqttPacket.parser();
  const packets: Array<Record<string, unknown>> = [];
  let error: string | undefined;
  parser.on('packet', (p) => {
    if (error === undefined) packets.push(p as unknown as Record<string, unknown>);
  });
  parser.on('error', (e: Error) => (error ??= `codec: ${e.message}`));
  for (const c of chunks) {
    if (error !== undefined) break;
    try {
      guard.push(c);
    } catch (e) {
      if (!(e instanceof JunctionError)) throw new Error(`${where}: the guard threw ${String(e)}`, { cause: e });
      error = e.code;
      break;
    }
    try {
      parser.parse(c);
    } catch (e) {
      throw new Error(`${where}: the parser threw ${String(e)}`, { cause: e });
    }
  }
  for (const p of packets) checkPacket(p, input.length, where);
  return { packets, error };
}

/** The guard alone over every chunk: its error code, or undefined. */
function guardVerdict(chunks: Buffer[]): string | undefined {
  const guard = new PacketGuard(MAX_PACKET);
  try {
    for (const c of chunks) guard.push(c);
  } catch (e) {
    return (e as JunctionError).code;
  }
  return undefined;
}

function size(v: unknown): number {
  if (Buffer.isBuffer(v) || typeof v === 'string') return v.length;
  return 0;
}

/** Nothing decoded is bigger than the input, and nothing the guard refuses got through. */
function checkPacket(p: Record<string, unknown>, inputBytes: number, where: string): void {
  const cmd = p.cmd as string;
  for (const k of ['payload', 'topic', 'clientId', 'username', 'password']) assert.ok(size(p[k]) <= inputBytes, `${where}: ${cmd}.${k} larger than the input`);
  const will = p.will as Record<string, unknown> | undefined;
  if (will) {
    assert.ok(size(will.payload) <= inputBytes && size(will.topic) <= inputBytes, `${where}: will larger than the input`);
    assert.notEqual(will.qos, 3, `${where}: will QoS 3 passed`);
  }
  const subs = p.subscriptions as Array<{ topic: string; qos: number }> | undefined;
  if (subs) {
    assert.ok(subs.length * 3 <= inputBytes, `${where}: more filters than bytes`);
    for (const s of subs) assert.ok(s.qos >= 0 && s.qos <= 2, `${where}: SUBSCRIBE QoS ${s.qos} passed`);
  }
  const unsubs = p.unsubscriptions as string[] | undefined;
  if (unsubs) assert.ok(unsubs.length * 2 <= inputBytes, `${where}: more filters than bytes`);
  const needsId = (cmd === 'publish' && (p.qos as number) > 0) || ['subscribe', 'unsubscribe', 'puback', 'pubrec', 'pubrel', 'pubcomp'].includes(cmd);
  if (needsId) assert.notEqual(p.messageId, 0, `${where}: ${cmd} with packet id 0 passed`);
  if (cmd === 'publish') {
    const topic = p.topic as string;
    assert.ok(!topic.includes('\u0000'), `${where}: topic with U+0000 passed`);
    // Ill-formed UTF-8 decodes to U+FFFD: it may only come from a well-formed U+FFFD in the input.
    if (topic.includes('\ufffd')) assert.ok(Buffer.from(topic, 'utf8').length <= inputBytes, `${where}: decoded topic larger than the input`);
  }
}

/** A few valid packets after a CONNECT, mutated. */
function makeCase(rng: Rng): Buffer {
  const parts = [rng.pick(CONNECTS)];
  const n = rng.int(4);
  for (let i = 0; i < n; i++) parts.push(rng.pick(OTHERS));
  const whole = Buffer.concat(parts);
  // Now and then leave the stream valid, or mutate just one packet of it.
  const r = rng.int(10);
  if (r === 0) return whole;
  if (r < 4) {
    const k = rng.int(parts.length);
    parts[k] = rng.mutate(parts[k]!);
    return Buffer.concat(parts);
  }
  return rng.mutate(whole);
}

function splits(rng: Rng, b: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let at = 0;
  while (at < b.length) {
    const n = 1 + rng.int(Math.max(1, Math.min(64, b.length - at)));
    out.push(b.subarray(at, at + n));
    at += n;
  }
  return out;
}

describe('MQTT decoding fuzz (PacketGuard + mqtt-packet parser)', () => {
  test('mutated packets, whole and split: packets or an error, bounded by the bytes given, the guard\'s rules hold', () => {
    const seed = fuzzSeed(0x4d515454);
    const cases = fuzzCases(5000);
    const rng = new Rng(seed);
    let errors = 0;
    let packets = 0;
    for (let i = 0; i < cases; i++) {
      const input = makeCase(rng);
      const where = `seed ${seed} case ${i} (${input.toString('hex').slice(0, 120)})`;
      const whole = run(input, [input], `${where} whole`);
      const split = run(input, splits(rng, input), `${where} split`);
      const bytewise = i % 10 === 0 ? run(input, [...input].map((b) => Buffer.from([b])), `${where} bytewise`) : split;
      // The guard decides the same however the bytes are split.
      const verdict = guardVerdict([input]);
      assert.equal(guardVerdict(splits(rng, input)), verdict, `${where}: split changed the guard's verdict`);
      if (i % 10 === 0) assert.equal(guardVerdict([...input].map((b) => Buffer.from([b]))), verdict, `${where}: bytewise changed the guard's verdict`);
      if (whole.error === undefined && split.error === undefined && bytewise.error === undefined) {
        assert.deepEqual(split.packets.map((p) => p.cmd), whole.packets.map((p) => p.cmd), `${where}: split changed the packets`);
      }
      if (whole.error !== undefined) errors++;
      packets += whole.packets.length;
    }
    // The corpus reaches both outcomes (a pass that only ever errors tests nothing).
    assert.ok(errors > cases / 10 && errors < cases, `errors in ${errors} of ${cases} cases`);
    assert.ok(packets > cases / 4, `${packets} packets decoded`);
  });

  test('length fields set to huge values are refused before their bytes are awaited or allocated', () => {
    const rng = new Rng(fuzzSeed(7));
    for (let i = 0; i < 500; i++) {
      const b = Buffer.from(rng.pick(OTHERS));
      // Remaining length at its 4-byte maximum (268,435,455): refused from the header alone.
      const huge = Buffer.concat([Buffer.from([b[0]!, 0xff, 0xff, 0xff, 0x7f]), rng.bytes(rng.int(32))]);
      const o = run(huge, [huge], `case ${i}`);
      assert.equal(o.error, 'ERR_MQTT_PACKET_TOO_LARGE');
    }
  });
});
