import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { RawStomp } from '../helpers/raw-stomp.ts';
import { connect, destroyRawClients, rejects, unique } from '../helpers/stomp-bad-input.ts';

// Bytes the STOMP codec cannot accept, frames out of order and frames over the limits, over real
// sockets. Each case runs through `rejects`: ERROR with message and detail, then close, while a
// bystander keeps working and stored messages survive.

const V12 = { 'accept-version': '1.2', host: 'localhost' };

afterEach(destroyRawClients);

describe('STOMP bad input (default limits)', () => {
  let broker: TestBroker;
  before(async () => {
    broker = await startBroker();
  });
  after(async () => {
    await broker.stop();
  });

  describe('malformed frames', () => {
    test('a header line without a colon', async () => {
      const error = await rejects(broker, { bad: (c) => c.write('SEND\ndestination:/queue/x\nno-colon-here\n\nhi\0') });
      assert.equal(error.header('message'), 'Malformed frame');
      assert.match(error.text, /header line without ":"/);
    });

    test('an undefined escape sequence (\\t) in STOMP 1.2', async () => {
      const error = await rejects(broker, { bad: (c) => c.write('SEND\ndestination:/queue/x\nkey:a\\tb\n\nhi\0') });
      assert.equal(error.header('message'), 'Malformed frame');
      assert.match(error.text, /undefined escape sequence "\\\\t" \(STOMP 1\.2\)/);
    });

    test('an escape sequence STOMP 1.1 does not define (\\r)', async () => {
      const error = await rejects(broker, {
        connect: { 'accept-version': '1.1', host: 'localhost' },
        bad: (c) => c.write('SEND\ndestination:/queue/x\nkey:a\\rb\n\nhi\0'),
      });
      assert.equal(error.header('message'), 'Malformed frame');
      assert.match(error.text, /STOMP 1\.1/);
    });

    test('a content-length that is not a number', async () => {
      const error = await rejects(broker, { bad: (c) => c.write('SEND\ndestination:/queue/x\ncontent-length:12abc\n\nhi\0') });
      assert.equal(error.header('message'), 'Malformed frame');
      assert.match(error.text, /content-length is not a non-negative integer: "12abc"/);
    });

    test('a negative content-length', async () => {
      const error = await rejects(broker, { bad: (c) => c.write('SEND\ndestination:/queue/x\ncontent-length:-1\n\nhi\0') });
      assert.equal(error.header('message'), 'Malformed frame');
      assert.match(error.text, /content-length is not a non-negative integer/);
    });

    test('a content-length body not followed by NUL', async () => {
      const error = await rejects(broker, { bad: (c) => c.write('SEND\ndestination:/queue/x\ncontent-length:2\n\nhiX\0') });
      assert.equal(error.header('message'), 'Malformed frame');
      assert.match(error.text, /content-length 2 is not followed by NUL/);
    });

    test('a garbage binary stream before CONNECT', async () => {
      const error = await rejects(broker, { connect: false, bad: (c) => c.write(garbage(4096, 7)) });
      assert.match(error.header('message')!, /^(Malformed frame|Frame too large|Unknown command|Protocol error)$/);
    });

    test('a garbage binary stream after CONNECT', async () => {
      const error = await rejects(broker, { bad: (c) => c.write(garbage(4096, 42)) });
      assert.match(error.header('message')!, /^(Malformed frame|Frame too large|Unknown command|Protocol error)$/);
    });

    test('a binary stream without any line break (command line over its limit)', async () => {
      const error = await rejects(broker, { connect: false, bad: (c) => c.write(Buffer.alloc(1000, 0xff)) });
      assert.equal(error.header('message'), 'Frame too large');
      assert.match(error.text, /command line exceeds 256 bytes/);
    });
  });

  describe('commands and their order', () => {
    test('an unknown command', async () => {
      const error = await rejects(broker, { bad: (c) => c.send('FROBNICATE', { destination: '/queue/x' }) });
      assert.equal(error.header('message'), 'Unknown command');
      assert.match(error.text, /FROBNICATE/);
    });

    test('a SEND before CONNECT is refused and not delivered', async () => {
      const name = unique('before-connect');
      const error = await rejects(broker, { connect: false, bad: (c) => c.send('SEND', { destination: `/queue/${name}` }, 'sneaky') });
      assert.match(error.text, /SEND before CONNECT/);
      assert.equal(broker.core.getQueue(name)?.messageCount ?? 0, 0);
    });

    test('a SEND before CONNECT is refused even when the CONNECT follows in the same packet', async () => {
      const name = unique('before-connect');
      const error = await rejects(broker, {
        connect: false,
        bad: (c) => c.write(Buffer.concat([RawStomp.frame('SEND', { destination: `/queue/${name}` }, 'sneaky'), RawStomp.frame('CONNECT', V12)])),
      });
      assert.match(error.text, /SEND before CONNECT/);
      assert.equal(broker.core.getQueue(name)?.messageCount ?? 0, 0);
    });

    test('a second CONNECT', async () => {
      const error = await rejects(broker, { bad: (c) => c.send('CONNECT', V12) });
      assert.match(error.text, /Already connected/);
    });
  });

  describe('limits', () => {
    test('a header section over 10 KiB', async () => {
      const error = await rejects(broker, { bad: (c) => c.send('SEND', { destination: '/queue/x', big: 'a'.repeat(10 * 1024) }) });
      assert.equal(error.header('message'), 'Frame too large');
      assert.match(error.text, /header section exceeds 10240 bytes/);
    });

    test('more than 1000 headers', async () => {
      const headers: Array<[string, string]> = [['destination', '/queue/x']];
      for (let i = 0; i < 1000; i++) headers.push([`h${i}`, 'v']);
      const error = await rejects(broker, { bad: (c) => c.send('SEND', headers) });
      assert.equal(error.header('message'), 'Frame too large');
      assert.match(error.text, /more than 1000 headers/);
    });

    test('a frame at the limits (1000 headers, 4 MiB body) is accepted', async () => {
      const c = await connect(broker.ports.stomp!);
      const q = `/queue/${unique('at-limits')}`;
      const headers: Record<string, string> = { destination: q };
      for (let i = 0; i < 997; i++) headers[`h${i}`] = 'v'; // + destination, content-length, receipt = 1000
      const body = Buffer.alloc(4 * 1024 * 1024, 0x61);
      await c.request('SEND', { ...headers, 'content-length': String(body.length) }, body);
      c.send('SUBSCRIBE', { id: 's', destination: q });
      const m = await c.nextFrame();
      assert.equal(m.body.length, body.length);
    });

    test('a header section of exactly 10 KiB is accepted', async () => {
      const c = await connect(broker.ports.stomp!);
      // The limit counts every header line with its LF, and the blank line that ends the headers.
      const fixed = Buffer.byteLength('destination:/queue/x\nreceipt:at-limit\nbig:\n\n');
      c.send('SEND', { destination: '/queue/x', receipt: 'at-limit', big: 'a'.repeat(10 * 1024 - fixed) }, 'hi');
      const f = await c.nextFrame();
      assert.equal(f.command, 'RECEIPT', f.text);
    });

    test('a body of 4 MiB + 1 bytes with content-length', async () => {
      const body = Buffer.alloc(4 * 1024 * 1024 + 1, 0x61);
      const error = await rejects(broker, { bad: (c) => c.send('SEND', { destination: '/queue/x', 'content-length': String(body.length) }, body) });
      assert.equal(error.header('message'), 'Frame too large');
      assert.match(error.text, /content-length 4194305 exceeds 4194304 bytes/);
    });

    test('a body of 4 MiB + 1 bytes without content-length', async () => {
      const body = Buffer.alloc(4 * 1024 * 1024 + 1, 0x61);
      const error = await rejects(broker, { bad: (c) => c.send('SEND', { destination: '/queue/x' }, body) });
      assert.equal(error.header('message'), 'Frame too large');
      assert.match(error.text, /body exceeds 4194304 bytes/);
    });
  });

  describe('what the failed connection held', () => {
    test('its unacknowledged messages are redelivered to another client', async () => {
      const port = broker.ports.stomp!;
      const name = `/queue/${unique('held')}`;
      const bad = await connect(port);
      await bad.request('SEND', { destination: name, persistent: 'true' }, 'held');
      bad.send('SUBSCRIBE', { id: 's', destination: name, ack: 'client-individual' });
      const first = await bad.nextFrame();
      assert.equal(first.command, 'MESSAGE');
      bad.write('garbage without colon\nline\n\n\0');
      assert.equal((await bad.nextFrame()).command, 'ERROR');
      await bad.closed();

      const other = await connect(port);
      other.send('SUBSCRIBE', { id: 's', destination: name, ack: 'client-individual' });
      const again = await other.nextFrame();
      assert.equal(again.text, 'held');
      assert.equal(again.header('message-id'), first.header('message-id'));
      assert.equal(again.header('redelivered'), 'true');
    });

    test('a SEND ahead of a malformed frame in the same packet is still delivered', async () => {
      const port = broker.ports.stomp!;
      const name = `/queue/${unique('ahead')}`;
      const bad = await connect(port);
      bad.write(Buffer.concat([RawStomp.frame('SEND', { destination: name, persistent: 'true' }, 'ahead'), Buffer.from('SEND\nno colon\n\n\0')]));
      const frames: string[] = [];
      for (let f = await bad.nextFrame(); ; f = await bad.nextFrame()) {
        frames.push(f.command);
        if (f.command === 'ERROR') break;
      }
      assert.deepEqual(frames, ['ERROR']);
      await bad.closed();

      const other = await connect(port);
      other.send('SUBSCRIBE', { id: 's', destination: name });
      assert.equal((await other.nextFrame()).text, 'ahead');
    });
  });
});

describe('STOMP bad input (stomp.maxBodyBytes 1024)', () => {
  let broker: TestBroker;
  before(async () => {
    broker = await startBroker({ stomp: { maxBodyBytes: 1024 } });
  });
  after(async () => {
    await broker.stop();
  });

  test('a content-length over the configured limit', async () => {
    const error = await rejects(broker, { bad: (c) => c.send('SEND', { destination: '/queue/x', 'content-length': '1025' }, 'a'.repeat(1025)) });
    assert.equal(error.header('message'), 'Frame too large');
    assert.match(error.text, /content-length 1025 exceeds 1024 bytes/);
  });

  test('a body without content-length over the configured limit', async () => {
    const error = await rejects(broker, { bad: (c) => c.send('SEND', { destination: '/queue/x' }, 'a'.repeat(1025)) });
    assert.equal(error.header('message'), 'Frame too large');
    assert.match(error.text, /body exceeds 1024 bytes/);
  });

  test('a body at the configured limit is accepted', async () => {
    const c = await connect(broker.ports.stomp!);
    await c.request('SEND', { destination: '/queue/at-limit' }, 'a'.repeat(1024));
    c.send('SUBSCRIBE', { id: 's', destination: '/queue/at-limit' });
    assert.equal((await c.nextFrame()).body.length, 1024);
  });
});

/** Deterministic pseudo-random bytes (mulberry32), so a failure reproduces. */
function garbage(n: number, seed: number): Buffer {
  const out = Buffer.alloc(n);
  let a = seed >>> 0;
  for (let i = 0; i < n; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = ((t ^ (t >>> 14)) >>> 0) & 0xff;
  }
  return out;
}
