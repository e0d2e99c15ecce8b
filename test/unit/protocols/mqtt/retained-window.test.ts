import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { Readable } from 'node:stream';
import { test } from 'node:test';
import { RetainedWindow } from '../../../../src/protocols/mqtt/retained-window.ts';

/* The retained messages of a connection's SUBSCRIBEs: QoS 1/2 ones bounded by the window in flight, and what may wait behind it bounded too. */

const packets = (n: number, qos = 1) => Array.from({ length: n }, (_, i) => ({ qos, i }));

/** Reads what the stream has now, without waiting for more. */
function readable(s: Readable): unknown[] {
  const out: unknown[] = [];
  for (let p = s.read(); p !== null; p = s.read()) out.push(p);
  return out;
}

test('QoS 1/2 retained PUBLISHes: at most the window pushed until released; SUBSCRIBEs beyond maxWaiting waiting get none; one SUBSCRIBE is never cut short', async () => {
  const w = new RetainedWindow(2, 10);
  const first = w.stream(packets(25));
  await once(first, 'readable');
  assert.equal(readable(first).length, 2, 'the window');
  assert.equal(w.waiting, 23, 'the rest of one SUBSCRIBE waits, even beyond maxWaiting');
  // A client that SUBSCRIBEs again and again without acknowledging: nothing more is held for it.
  const more = Array.from({ length: 50 }, () => w.stream(packets(25)));
  assert.equal(w.waiting, 23);
  assert.equal(w.dropped, 50);
  for (const s of more) {
    s.resume();
    await once(s, 'end');
  }
  // Releasing the window lets the first SUBSCRIBE's messages through, one per release.
  w.taken(1);
  w.released(1);
  assert.equal(readable(first).length, 1);
  assert.equal(w.waiting, 22);
  first.destroy();
  await once(first, 'close');
  assert.equal(w.waiting, 0, 'a closed stream holds nothing');
  const after = w.stream(packets(3, 0));
  assert.equal(w.waiting, 3, 'room again: a later SUBSCRIBE gets its retained messages');
  after.resume();
  await once(after, 'end');
});
