import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FrameGuard } from '../../../../src/protocols/amqp/socket-adapter.ts';

const SASL = Buffer.from('AMQP\x03\x01\x00\x00', 'latin1');
const PLAIN = Buffer.from('AMQP\x00\x01\x00\x00', 'latin1');

function frame(size: number): Buffer {
  const b = Buffer.alloc(size);
  b.writeUInt32BE(size, 0);
  b[4] = 2;
  return b;
}

describe('FrameGuard', () => {
  test('passes headers and frames, split at every offset', () => {
    const stream = Buffer.concat([SASL, frame(20), frame(8), PLAIN, frame(100), frame(8)]);
    for (let cut = 0; cut <= stream.length; cut++) {
      const g = new FrameGuard(1024);
      assert.equal(g.check(stream.subarray(0, cut)), undefined, `cut ${cut}`);
      assert.equal(g.check(stream.subarray(cut)), undefined, `cut ${cut}`);
    }
    const g = new FrameGuard(1024);
    for (const byte of stream) assert.equal(g.check(Buffer.from([byte])), undefined);
  });

  test('with SASL required, the AMQP header first is refused and the one after SASL passes', () => {
    assert.match(new FrameGuard(1024, true).check(PLAIN)!.message, /SASL is required/);
    const stream = Buffer.concat([SASL, frame(20), frame(8), PLAIN, frame(100)]);
    for (let cut = 0; cut <= stream.length; cut++) {
      const g = new FrameGuard(1024, true);
      assert.equal(g.check(stream.subarray(0, cut)), undefined, `cut ${cut}`);
      assert.equal(g.check(stream.subarray(cut)), undefined, `cut ${cut}`);
    }
  });

  test('refuses a header that is not AMQP 1.0.0 with protocol id 0 or 3', () => {
    assert.equal(new FrameGuard(1024).check(Buffer.from('GET / HTTP/1.1'))?.kind, 'header');
    assert.equal(new FrameGuard(1024).check(Buffer.from('AMQP\x00\x02\x00\x00', 'latin1'))?.kind, 'header');
    assert.equal(new FrameGuard(1024).check(Buffer.from('AMQP\x02\x01\x00\x00', 'latin1'))?.kind, 'header');
    assert.equal(new FrameGuard(1024).check(Buffer.from('AMQ'))?.kind, undefined, 'incomplete: wait for more');
  });

  test('refuses frames over the max frame size or under 8 bytes', () => {
    const g = new FrameGuard(512);
    const big = Buffer.alloc(4);
    big.writeUInt32BE(513, 0);
    const v = g.check(Buffer.concat([PLAIN, big]));
    assert.equal(v?.kind, 'frame-size');
    assert.match(v!.message, /513 exceeds the max frame size 512/);
    assert.ok(g.failed);
    const small = Buffer.from([0, 0, 0, 4]);
    assert.match(new FrameGuard(512).check(Buffer.concat([PLAIN, small]))!.message, /below the minimum/);
  });
});
