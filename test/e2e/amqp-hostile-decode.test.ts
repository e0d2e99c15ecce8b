import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { assertServed, watchAttack } from '../helpers/attack.ts';
import { BrokerProcess } from '../helpers/broker-process.ts';
import { AMQP_HEADER, frames, perf, RawAmqp, rawFrame, SASL_HEADER, terminus, until } from '../helpers/raw-amqp.ts';

// Hostile AMQP frames before and after the open (issue 11, items 1 and 12), against a broker in a
// child process with a 256 MiB heap: before the decoder was bounded, a 32-byte open froze it and it
// aborted out of memory. Each attacker gets the AMQP error (a close, or its socket closed during
// SASL), the broker logs it once and keeps serving a STOMP bystander.

let broker: BrokerProcess;
let dataDir: string;
let amqpPort: number;

before(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'junction-amqp-hostile-'));
  // A small heap: an unbounded decode aborts the broker quickly instead of eating the machine.
  broker = await BrokerProcess.start({ dataDir, args: ['--log-level', 'info'], env: { NODE_OPTIONS: '--max-old-space-size=256' } });
  amqpPort = (broker.ports as unknown as { amqp: number }).amqp;
});
after(async () => {
  await broker.stop();
  await rm(dataDir, { recursive: true, force: true });
});

/** Log lines of the broker with `msg`. */
function logged(msg: string): Array<Record<string, unknown>> {
  return broker
    .output()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((l) => l.msg === msg);
}

/** An array32 of 0xFFFFFFFF nulls in 9 bytes (the 32-byte frame). */
const NULL_BOMB = Buffer.from([0xf0, 0, 0, 0, 5, 0xff, 0xff, 0xff, 0xff, 0x40]);

async function attack(...bytes: Buffer[]): Promise<RawAmqp> {
  const a = await RawAmqp.connect(amqpPort);
  a.write(...bytes);
  await a.closedWithin();
  return a;
}

describe('bounded decoding (item 1)', () => {
  test('an open, a sasl-init and a transfer carrying count bombs are decode errors; the broker keeps serving', async () => {
    const watch = await watchAttack({ stompPort: broker.ports.stomp, inProcess: false, pid: broker.child.pid! });
    await watch.roundTrips(2);
    const before = logged('amqp connection closed on a protocol error').length;

    // 1. The frame: an open whose only field is the bomb.
    const open = await attack(AMQP_HEADER, rawFrame(Buffer.concat([Buffer.from([0x00, 0x53, 0x10]), NULL_BOMB])));
    assert.equal(open.closeError()?.condition, 'amqp:decode-error');
    assert.match(open.closeError()?.description ?? '', /count 4294967295/i);

    // 2. The same inside a sasl-init, before any authentication.
    const sasl = await attack(SASL_HEADER, rawFrame(Buffer.concat([Buffer.from([0x00, 0x53, 0x41]), NULL_BOMB]), 1));
    assert.ok(!sasl.received.some((r) => r.name === 'sasl-outcome' && (r.p as { code?: number }).code === 0), 'no successful SASL outcome');

    // 3. A list32 that claims 4 billion elements, nested arrays that claim room they do not have,
    // and 100,000 nested lists, each in an open.
    const list = await attack(AMQP_HEADER, rawFrame(Buffer.from([0x00, 0x53, 0x10, 0xd0, 0, 0, 0, 5, 0xff, 0xff, 0xff, 0xff, 0x40])));
    assert.equal(list.closeError()?.condition, 'amqp:decode-error');
    const inner = [0xff, 0xfd, 0x40];
    const nested = Buffer.from([0x00, 0x53, 0x10, 0xf0, 0, 0, 0, 5 + inner.length * 40, 0, 0, 0, 40, 0xe0, ...Array.from({ length: 40 }, () => inner).flat()]);
    assert.equal((await attack(AMQP_HEADER, rawFrame(nested))).closeError()?.condition, 'amqp:decode-error');
    const deep = Buffer.alloc(3 * 20_000);
    for (let i = 0; i < 20_000; i++) deep.set([0xc0, 0xff, 0x01], i * 3);
    assert.equal((await attack(AMQP_HEADER, rawFrame(Buffer.concat([Buffer.from([0x00, 0x53, 0x10]), deep.subarray(0, 60_000)])))).closeError()?.condition, 'amqp:decode-error');

    // 4. After a proper open: a message whose application-properties hold the bomb (rhea decodes every
    // transfer's message): the transfer is rejected with amqp:decode-error, the connection goes on.
    const t = await RawAmqp.connect(amqpPort);
    t.write(
      AMQP_HEADER,
      perf('open', { container_id: 'attacker' }),
      perf('begin', { next_outgoing_id: 0, incoming_window: 100, outgoing_window: 100 }),
      perf('attach', { name: 'p', handle: 0, role: false, snd_settle_mode: 0, rcv_settle_mode: 0, target: terminus.target({ address: 'hostile.decode' }), source: terminus.source({}), initial_delivery_count: 0 }),
    );
    const message = Buffer.concat([Buffer.from([0x00, 0x53, 0x74]), NULL_BOMB]);
    const transfer = frames.write_frame(frames.amqp_frame(0, frames.transfer!({ handle: 0, delivery_id: 0, delivery_tag: Buffer.from('1'), message_format: 0, settled: false }), message));
    await until(() => t.received.some((r) => r.name === 'flow'), 'producer credit');
    t.write(transfer);
    await until(() => t.received.some((r) => r.name === 'disposition' || r.name === 'close'), 'an answer to the transfer');
    const answer = t.received.find((r) => r.name === 'disposition' || r.name === 'close')!;
    assert.equal(answer.name, 'disposition', `the transfer is answered, not the connection closed: ${JSON.stringify(answer.p.error)}`);
    // The state as rhea's frame codec leaves it: rejected(error(condition, description)), described lists.
    const rejected = answer.p.state as { descriptor: { value: unknown }; value: Array<{ value: Array<{ value: unknown }> }> };
    assert.equal(Number(rejected.descriptor.value), 0x25, 'rejected');
    assert.equal(rejected.value[0]!.value[0]!.value, 'amqp:decode-error');
    // The link goes on: the next, well-formed message is accepted.
    const good = Buffer.from([0x00, 0x53, 0x77, 0xa1, 0x02, 0x6f, 0x6b]); // amqp-value "ok"
    t.write(frames.write_frame(frames.amqp_frame(0, frames.transfer!({ handle: 0, delivery_id: 1, delivery_tag: Buffer.from('2'), message_format: 0, settled: false }), good)));
    await until(() => t.received.filter((r) => r.name === 'disposition').length === 2, 'the second disposition');
    const accepted = t.received.filter((r) => r.name === 'disposition')[1]!.p.state as { descriptor: { value: unknown } };
    assert.equal(Number(accepted.descriptor.value), 0x24, 'accepted');
    t.socket.destroy();

    await watch.roundTrips(2);
    const report = await watch.stop();
    assert.ok(broker.running, 'the broker is still running');
    assertServed(report, { maxRssGrowthMiB: 200 });
    // Logged once per connection closed on a decode error: open, sasl-init, list, nested, deep.
    assert.equal(logged('amqp connection closed on a protocol error').length - before, 5);
    assert.ok(logged('amqp message rejected: decode error').length >= 1);
  });
});


function attachWithStringHandle(): Buffer {
  const fields = Buffer.from([0xa1, 1, 0x78, 0xa1, 9, ...Buffer.from('__proto__'), 0x41]);
  return Buffer.concat([Buffer.from([0x00, 0x53, 0x12, 0xc0, fields.length + 1, 3]), fields]);
}

describe('lax parsing (item 12)', () => {
  // The bystander is served across all of these.
  let watch: Awaited<ReturnType<typeof watchAttack>>;
  before(async () => {
    watch = await watchAttack({ stompPort: broker.ports.stomp, inProcess: false, pid: broker.child.pid! });
    await watch.roundTrips(1);
  });
  after(async () => {
    await watch.roundTrips(1);
    assertServed(await watch.stop(), { maxRssGrowthMiB: 200 });
  });

  test('begin before open: amqp:not-allowed and a close, logged once', async () => {
    const before = logged('amqp connection closed on a protocol error').filter((l) => l.condition === 'amqp:not-allowed').length;
    const a = await attack(AMQP_HEADER, perf('begin', { next_outgoing_id: 0, incoming_window: 100, outgoing_window: 100 }));
    assert.equal(a.closeError()?.condition, 'amqp:not-allowed');
    assert.match(a.closeError()?.description ?? '', /begin received before open/);
    assert.equal(a.received.filter((r) => r.name === 'begin').length, 0, 'no session was begun');
    await until(() => logged('amqp connection closed on a protocol error').filter((l) => l.condition === 'amqp:not-allowed').length === before + 1, 'the log line');
  });

  test('two attaches on one handle: a close with amqp:session:handle-in-use (§2.7.3)', async () => {
    const a = await attack(
      AMQP_HEADER,
      perf('open', { container_id: 'attacker' }),
      perf('begin', { next_outgoing_id: 0, incoming_window: 100, outgoing_window: 100 }),
      perf('attach', { name: 'one', handle: 7, role: true, source: terminus.source({ address: 'hostile.handles' }), target: terminus.target({}) }),
      perf('attach', { name: 'two', handle: 7, role: true, source: terminus.source({ address: 'hostile.handles' }), target: terminus.target({}) }),
    );
    assert.equal(a.closeError()?.condition, 'amqp:session:handle-in-use');
  });

  test('a session holds at most amqp.maxLinksPerSession links: handle-max in the begin, a handle beyond it a framing-error (§2.7.2)', async () => {
    const a = await RawAmqp.connect(amqpPort);
    a.write(AMQP_HEADER, perf('open', { container_id: 'attacker' }), perf('begin', { next_outgoing_id: 0, incoming_window: 100, outgoing_window: 100 }));
    await until(() => a.received.some((r) => r.name === 'begin'), 'the begin');
    assert.equal(a.received.find((r) => r.name === 'begin')?.p.handle_max, 1023);
    a.write(perf('attach', { name: 'far', handle: 1024, role: true, source: terminus.source({ address: 'hostile.handles' }), target: terminus.target({}) }));
    await a.closedWithin();
    assert.equal(a.closeError()?.condition, 'amqp:connection:framing-error');
  });

  test('an attach whose handle is not a uint is amqp:invalid-field', async () => {
    const a = await attack(
      AMQP_HEADER,
      perf('open', { container_id: 'attacker' }),
      perf('begin', { next_outgoing_id: 0, incoming_window: 100, outgoing_window: 100 }),
      // rhea's encoder would make the handle a uint: attach [name "x", handle "__proto__" (str8), role true].
      rawFrame(attachWithStringHandle()),
    );
    assert.equal(a.closeError()?.condition, 'amqp:invalid-field');
  });

  test('links named __proto__, constructor and toString are ordinary links', async () => {
    const a = await RawAmqp.connect(amqpPort);
    const names = ['__proto__', 'constructor', 'toString'];
    a.write(
      AMQP_HEADER,
      perf('open', { container_id: 'protos' }),
      perf('begin', { next_outgoing_id: 0, incoming_window: 100, outgoing_window: 100 }),
      ...names.map((name, i) => perf('attach', { name, handle: i, role: false, snd_settle_mode: 0, rcv_settle_mode: 0, target: terminus.target({ address: 'hostile.protos' }), source: terminus.source({}), initial_delivery_count: 0 })),
    );
    await until(() => a.received.filter((r) => r.name === 'attach').length === names.length || a.received.some((r) => r.name === 'close'), 'the attaches answered');
    assert.equal(a.closeError(), undefined, `no close: ${JSON.stringify(a.closeError())}`);
    assert.deepEqual(a.received.filter((r) => r.name === 'attach').map((r) => r.p.name).sort(), [...names].sort());
    a.socket.destroy();
  });
});
