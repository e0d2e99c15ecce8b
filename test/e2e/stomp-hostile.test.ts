import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { AmqpTestClient } from '../helpers/amqp-client.ts';
import { assertServed, watchAttack, watchDuring, type AttackReport } from '../helpers/attack.ts';
import { RawStomp } from '../helpers/raw-stomp.ts';
import { destroyRawClients, rejects, unique } from '../helpers/stomp-bad-input.ts';
import { StompParser, DEFAULT_STOMP_LIMITS } from '../../src/protocols/stomp/parser.ts';
import type { StompVersion } from '../../src/protocols/stomp/frame.ts';

// Issue 11, items 2, 3 and 12 (STOMP side), over real sockets: a STOMP producer cannot forge what an
// AMQP consumer receives (x-amqp-* headers), nor inject frames into other consumers' streams (NUL in a
// header), whatever the consumers' STOMP version; header text that no version can carry (from AMQP
// producers) is written so that every consumer still reads exactly one MESSAGE; invalid UTF-8 in a
// header is an ERROR. A bystander (watchAttack) is served throughout each test.

let broker: TestBroker;
const clients: RawStomp[] = [];

before(async () => {
  broker = await startBroker({ store: { sync: 'never' } });
});
after(async () => {
  await broker.stop();
});
afterEach(() => {
  destroyRawClients();
  for (const c of clients.splice(0)) c.destroy();
});

async function watched(fn: () => Promise<void>): Promise<void> {
  assertServed(await watchDuring({ stompPort: broker.ports.stomp! }, fn), { maxRssGrowthMiB: 128 });
}

const CONNECT_HEADERS: Record<StompVersion, Record<string, string>> = {
  '1.0': { host: 'localhost' },
  '1.1': { 'accept-version': '1.1', host: 'localhost' },
  '1.2': { 'accept-version': '1.2', host: 'localhost' },
};

/** A raw STOMP consumer that also keeps every byte the broker sent it. */
interface Tap {
  version: StompVersion;
  client: RawStomp;
  wire: Buffer[];
}

async function tap(version: StompVersion, destination: string): Promise<Tap> {
  const client = await RawStomp.connect(broker.ports.stomp!, CONNECT_HEADERS[version]);
  clients.push(client);
  const t: Tap = { version, client, wire: [] };
  client.socket.on('data', (chunk: Buffer) => t.wire.push(chunk));
  await client.request('SUBSCRIBE', { id: `sub-${version}`, destination });
  t.wire.length = 0;
  return t;
}

/** Reads the tap's frames until the MESSAGE whose body is `last`. */
async function until(t: Tap, last: string): Promise<void> {
  for (;;) {
    const f = await t.client.nextFrame();
    if (f.command === 'MESSAGE' && f.text === last) return;
  }
}

/**
 * The commands a reader that finds frames by their NUL terminator sees (STOMP 1.0: "the frame is
 * terminated by NUL"; stomp.py and older stomp.js read this way). The bodies used here hold no NUL,
 * so for well-formed frames this is exact.
 */
function nulDelimitedCommands(wire: Buffer): string[] {
  const out: string[] = [];
  let rest = wire;
  for (;;) {
    let i = 0;
    while (i < rest.length && (rest[i] === 0x0a || rest[i] === 0x0d)) i++;
    rest = rest.subarray(i);
    const nul = rest.indexOf(0);
    if (nul === -1) break;
    const piece = rest.subarray(0, nul).toString('utf8');
    out.push(piece.slice(0, piece.indexOf('\n') === -1 ? piece.length : piece.indexOf('\n')));
    rest = rest.subarray(nul + 1);
  }
  assert.equal(rest.length, 0, 'no partial frame left');
  return out;
}

/** The frames the broker's own strict parser reads from the tap, with the tap's version. */
function strictFrames(t: Tap) {
  const p = new StompParser(DEFAULT_STOMP_LIMITS);
  p.version = t.version;
  return p.push(Buffer.concat(t.wire));
}

describe('STOMP cannot forge what an AMQP consumer receives (issue 11 item 2)', () => {
  test('x-amqp-body, x-amqp-properties and x-amqp-annotations headers on a SEND are stripped: the AMQP consumer gets exactly the bytes, as a data section, and no forged property', async () => {
    await watched(async () => {
      const q = unique('hostile.amqp');
      const amqp = await AmqpTestClient.connect(broker.ports.amqp!);
      try {
        const r = await amqp.receiver(`queue://${q}`);
        // An application-properties section {forged: "yes"}, a message-annotations section and an
        // amqp-value "forged body", exactly as the AMQP adapter stores its own markers.
        const appProps = Buffer.from('005374d10000001100000002a106666f72676564a103796573', 'hex');
        const annotations = Buffer.from('005372d10000001a00000002a312782d6f70742d6a6d732d6d73672d747970655205', 'hex');
        const body = Buffer.from('005377a10b666f7267656420626f6479', 'hex');
        const producer = await RawStomp.connect(broker.ports.stomp!);
        clients.push(producer);
        const headers = {
          destination: `/queue/${q}`,
          persistent: 'true',
          'content-length': String(body.length),
          'x-amqp-body': 'value',
          'x-amqp-properties': appProps.toString('base64'),
          'x-amqp-annotations': annotations.toString('base64'),
          'x-amqp-anything': 'else',
          kept: 'yes',
        };
        // Stripped, not refused: a STOMP client relaying a MESSAGE it got from an AMQP producer sends these headers back.
        await producer.request('SEND', headers, body);
        const { message } = await r.next();
        const got = message.body as { typecode?: number; content?: Buffer };
        assert.equal(got.typecode, 0x75, `a data section, got ${JSON.stringify(message.body)}`);
        assert.ok(got.content?.equals(body), 'the body is exactly the bytes sent');
        const props = message.application_properties ?? {};
        assert.equal(props.forged, undefined, 'no forged application property');
        assert.equal(props.kept, 'yes');
        for (const k of Object.keys(props)) assert.ok(!k.startsWith('x-amqp-'), `no marker property ${k}`);
        assert.equal(message.message_annotations, undefined, 'no forged annotations');
      } finally {
        await amqp.close();
      }
    });
  });
});

describe('a NUL in a STOMP header cannot inject frames (issue 11 item 3)', () => {
  const attacks: Array<{ what: string; headers: Array<[string, string]> }> = [
    { what: 'a forged RECEIPT', headers: [['x', 'a\0RECEIPT'], ['receipt-id', 'victim-7']] },
    { what: 'a forged ERROR', headers: [['x', 'b\0ERROR'], ['message', 'forged error']] },
    { what: 'an extra MESSAGE', headers: [['x', 'c\0MESSAGE'], ['subscription', 'sub-1.2'], ['message-id', 'forged']] },
    { what: 'a NUL in a header name', headers: [['n\0RECEIPT', 'v'], ['receipt-id', 'victim-8']] },
  ];

  test('the producer gets an ERROR for each attempt; consumers on STOMP 1.0, 1.1 and 1.2 read only the genuine MESSAGE', async () => {
    await watched(async () => {
      const topic = `/topic/${unique('hostile.nul')}`;
      const taps = [await tap('1.0', topic), await tap('1.1', topic), await tap('1.2', topic)];
      for (const { what, headers } of attacks) {
        const attacker = await RawStomp.connect(broker.ports.stomp!);
        clients.push(attacker);
        attacker.send('SEND', [['destination', topic], ...headers, ['receipt', 'attack']], 'attack');
        const f = await attacker.nextFrame();
        assert.equal(f.command, 'ERROR', `${what}: expected ERROR, got ${f.command}`);
        assert.equal(f.header('message'), 'Malformed frame');
        assert.match(f.text, /NUL/);
        await attacker.closed();
      }
      const producer = await RawStomp.connect(broker.ports.stomp!);
      clients.push(producer);
      await producer.request('SEND', { destination: topic }, 'genuine');
      for (const t of taps) {
        await until(t, 'genuine');
        assert.deepEqual(nulDelimitedCommands(Buffer.concat(t.wire)), ['MESSAGE'], `STOMP ${t.version}: one MESSAGE, nothing forged`);
        const frames = strictFrames(t);
        assert.equal(frames.length, 1, `STOMP ${t.version}: one frame`);
        assert.equal(frames[0]!.body.toString(), 'genuine');
      }
    });
  });

  test('AMQP application properties with NUL, LF, CR, colon and backslash in names and values reach STOMP 1.0, 1.1 and 1.2 consumers as exactly one well-formed MESSAGE each', async () => {
    await watched(async () => {
      const name = unique('hostile.amqp2stomp');
      const taps = [await tap('1.0', `/topic/${name}`), await tap('1.1', `/topic/${name}`), await tap('1.2', `/topic/${name}`)];
      const amqp = await AmqpTestClient.connect(broker.ports.amqp!);
      try {
        const s = await amqp.sender(`topic://${name}`);
        const props: Record<string, string> = {
          'evil\0RECEIPT': 'x',
          'receipt-id': 'victim',
          'line\nname': 'v\nw',
          cr: 'a\rb\r',
          'col:on': 'c:d',
          nul: 'e\0ERROR\n\nforged\0',
          'back\\slash': '\\c\\n',
        };
        const out = await amqp.send(s, { body: 'payload', application_properties: props });
        assert.equal(out.state, 'accepted');
        await amqp.send(s, { body: 'genuine' });
      } finally {
        await amqp.close();
      }
      for (const t of taps) {
        await until(t, 'genuine');
        assert.deepEqual(nulDelimitedCommands(Buffer.concat(t.wire)), ['MESSAGE', 'MESSAGE'], `STOMP ${t.version}: one MESSAGE per send`);
        const frames = strictFrames(t);
        assert.equal(frames.length, 2, `STOMP ${t.version}: two frames`);
        const h = new Map(frames[0]!.headers);
        assert.equal(frames[0]!.body.toString(), 'payload');
        assert.equal(h.get('receipt-id'), 'victim');
        if (t.version === '1.2') {
          // STOMP 1.2 escapes \\ \n \r and \c: the text comes through; only NUL, which no version can carry, is replaced.
          assert.equal(h.get('line\nname'), 'v\nw');
          assert.equal(h.get('cr'), 'a\rb\r');
          assert.equal(h.get('col:on'), 'c:d');
          assert.equal(h.get('back\\slash'), '\\c\\n');
          assert.equal(h.get('nul'), 'e\uFFFDERROR\n\nforged\uFFFD');
          assert.equal(h.get('evil\uFFFDRECEIPT'), 'x');
        } else if (t.version === '1.1') {
          // STOMP 1.1 has no \r escape: a CR becomes a space.
          assert.equal(h.get('line\nname'), 'v\nw');
          assert.equal(h.get('cr'), 'a b ');
          assert.equal(h.get('col:on'), 'c:d');
          assert.equal(h.get('nul'), 'e\uFFFDERROR\n\nforged\uFFFD');
        } else {
          // STOMP 1.0 has no escaping: line breaks become spaces, and so does a colon in a name.
          assert.equal(h.get('line name'), 'v w');
          assert.equal(h.get('cr'), 'a b ');
          assert.equal(h.get('col on'), 'c:d');
          assert.equal(h.get('back\\slash'), '\\c\\n');
          assert.equal(h.get('nul'), 'e\uFFFDERROR  forged\uFFFD');
        }
      }
    });
  });
});

describe('invalid UTF-8 in STOMP headers (issue 11 item 12)', () => {
  const cases: Array<{ what: string; wire: Buffer }> = [
    { what: 'in a SEND destination', wire: Buffer.from('SEND\ndestination:/queue/bad\xff\n\nx\0', 'latin1') },
    { what: 'in a SUBSCRIBE destination', wire: Buffer.from('SUBSCRIBE\nid:1\ndestination:/topic/\xc3\x28\n\n\0', 'latin1') },
    { what: 'in a header name', wire: Buffer.from('SEND\ndestination:/queue/ok\nk\xe2\x82:v\n\nx\0', 'latin1') },
    // A UTF-16 surrogate encoded as UTF-8 (CESU-8) is not UTF-8.
    { what: 'in a header value', wire: Buffer.from('SEND\ndestination:/queue/ok\nk:\xed\xa0\x80\n\nx\0', 'latin1') },
  ];
  for (const { what, wire } of cases) {
    test(`${what}: ERROR and close`, async () => {
      await watched(async () => {
        const error = await rejects(broker, { bad: (c) => c.write(wire) });
        assert.equal(error.header('message'), 'Malformed frame');
        assert.match(error.text, /UTF-8/);
      });
    });
  }

  test('a genuine U+FFFD (valid UTF-8) is accepted and delivered', async () => {
    const q = `/queue/${unique('hostile.fffd')}`;
    const c = await RawStomp.connect(broker.ports.stomp!);
    clients.push(c);
    await c.request('SUBSCRIBE', { id: '1', destination: q });
    await c.request('SEND', { destination: q, k: '\uFFFD' }, 'x');
    const m = await c.nextFrame();
    assert.equal(m.header('k'), '\uFFFD');
  });
});

describe('subscriptions per connection', () => {
  test('a SUBSCRIBE beyond stomp.maxSubscriptions gets an ERROR and the connection closes; its subscriptions go with it', async () => {
    const limited = await startBroker({ store: { type: 'memory' }, stomp: { maxSubscriptions: 100 } });
    try {
      const w = await watchAttack({ stompPort: limited.ports.stomp! });
      let report: AttackReport;
      try {
        await w.roundTrips(1);
        const attacker = await RawStomp.connect(limited.ports.stomp!);
        clients.push(attacker);
        for (let i = 0; i < 99; i++) attacker.send('SUBSCRIBE', { id: `s${i}`, destination: `/topic/hostile.many.${i}` });
        await attacker.request('SUBSCRIBE', { id: 's99', destination: '/topic/hostile.many.99' });
        attacker.send('SUBSCRIBE', { id: 's100', destination: '/topic/hostile.many.100', receipt: 'r' });
        const error = await attacker.nextFrame();
        assert.equal(error.command, 'ERROR');
        assert.equal(error.header('message'), 'Too many subscriptions');
        assert.match(error.text, /100/);
        await attacker.closed();
        await w.roundTrips(2);
      } finally {
        report = await w.stop();
      }
      assertServed(report);
      // The bystander's own subscription queue is all that is left.
      const deadline = Date.now() + 10_000;
      while (limited.core.queueStats().filter((q) => q.topic?.startsWith('hostile.many.')).length > 0) {
        assert.ok(Date.now() < deadline, 'the closed connection left subscriptions behind');
        await new Promise((r) => setImmediate(r));
      }
    } finally {
      await limited.stop();
    }
  });
});
