import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { WorkSlicer } from '../../../../src/protocols/mqtt/work-slicer.ts';

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('WorkSlicer', () => {
  test('runs a little at once, the rest in later macrotasks, each owner in order, owners in turn', async () => {
    const s = new WorkSlicer((err) => assert.fail(String(err)));
    const a = {};
    const b = {};
    const ran: string[] = [];
    for (let i = 0; i < 1000; i++) s.run(a, () => ran.push(`a${i}`));
    s.run(b, () => ran.push('b0'));
    const now = ran.length;
    assert.ok(now > 0 && now < 1000, `some ran at once (${now})`);
    assert.ok(s.waiting > 0);
    // b's one item does not wait for all of a's.
    let turns = 0;
    while (!ran.includes('b0')) {
      await turn();
      turns++;
    }
    assert.ok(ran.indexOf('b0') < 200, `b went in turn (${ran.indexOf('b0')})`);
    while (s.waiting > 0) {
      await turn();
      turns++;
    }
    assert.ok(turns > 3, `spread over macrotasks (${turns})`);
    assert.deepEqual(ran.filter((x) => x.startsWith('a')), Array.from({ length: 1000 }, (_, i) => `a${i}`));
  });

  test('an item queued by an owner with work waiting runs after it; drop forgets an owner', async () => {
    const s = new WorkSlicer(() => {});
    const a = {};
    const ran: number[] = [];
    for (let i = 0; i < 500; i++) s.run(a, () => ran.push(i));
    await turn();
    s.run(a, () => ran.push(-1));
    s.drop(a);
    while (s.waiting > 0) await turn();
    await turn();
    assert.ok(!ran.includes(-1));
    assert.ok(ran.length < 500);
  });

  test('yield resolves in a later slice; a throwing item is reported and the rest run', async () => {
    const errors: unknown[] = [];
    const s = new WorkSlicer((err) => errors.push(err));
    const a = {};
    s.run(a, () => {
      throw new Error('boom');
    });
    let n = 0;
    for (let i = 0; i < 10_000; i++) {
      if (s.mustYield()) await s.yield(a);
      n++;
    }
    assert.equal(n, 10_000);
    assert.equal(errors.length, 1);
  });

  test('drop keeps the yields of a loop that must finish, and an item dropping its own owner loses nothing queued after', async () => {
    const s = new WorkSlicer((err) => assert.fail(String(err)));
    const a = {};
    for (let i = 0; i < 500; i++) s.run(a, () => {});
    let n = 0;
    const loop = (async () => {
      for (let i = 0; i < 5000; i++) {
        if (s.mustYield()) await s.yield(a);
        n++;
      }
    })();
    s.drop(a); // the connection went: its queued items go, the loop's yields do not
    await loop;
    assert.equal(n, 5000);

    // An item that drops its owner and queues new work for it (MqttSession.end from inside a slice).
    const b = {};
    const ran: string[] = [];
    for (let i = 0; i < 300; i++) s.run(b, () => ran.push('old'));
    await turn();
    let dropped = false;
    s.run(b, () => {
      s.drop(b);
      dropped = true;
      for (let i = 0; i < 3; i++) s.run(b, () => ran.push('close'));
    });
    while (!dropped || s.waiting > 0) await turn();
    assert.equal(ran.filter((x) => x === 'close').length, 3);
  });
});
