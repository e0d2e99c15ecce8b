import assert from 'node:assert/strict';
import { describe, mock, test } from 'node:test';
import { DeliverySchedule } from '../../../src/core/delivery-schedule.ts';
import { Entry, EntryList } from '../../../src/core/entry-list.ts';
import { ExpirySweep } from '../../../src/core/expiry-sweep.ts';
import { LastValueIndex } from '../../../src/core/last-value-index.ts';
import type { Message } from '../../../src/core/message.ts';
import type { PagedRef } from '../../../src/core/paged-list.ts';
import { queueBrowser } from '../../../src/core/queue-browser.ts';
import { QueuePager } from '../../../src/core/queue-pager.ts';
import { DEFAULT_ADDRESS_SETTINGS } from '../../../src/core/settings.ts';

/** The units a queue is made of, each alone (the queue as a whole is tested through the core). */

let seq = 0;
function message(props: Record<string, string> = {}, over: Partial<Message> = {}): Message {
  return {
    id: `ID:t-${++seq}`,
    destination: { type: 'queue', name: 'q' },
    body: Buffer.from('x'),
    bodyType: 'text',
    durable: false,
    priority: 4,
    expiration: 0,
    timestamp: 0,
    properties: props,
    ...over,
  };
}

function entry(m: Message = message(), s = ++seq): Entry {
  const e = new Entry(`k${s}`, m, 1, 0, false);
  e.seq = s;
  return e;
}

describe('LastValueIndex', () => {
  test('a newer message with the same value replaces the older while that one is ready', () => {
    const lv = new LastValueIndex('k');
    const a = entry(message({ k: 'x' }));
    const b = entry(message({ k: 'x' }));
    assert.equal(lv.replace(a), undefined);
    assert.equal(lv.replace(b), a);
    b.state = 'delivering';
    const c = entry(message({ k: 'x' }));
    assert.equal(lv.replace(c), undefined, 'one in delivery is left alone');
  });

  test('messages without the property are not indexed; forget stops a replacement', () => {
    const lv = new LastValueIndex('k');
    assert.equal(lv.replace(entry()), undefined);
    assert.equal(lv.replace(entry()), undefined);
    const a = entry(message({ k: 'y' }));
    lv.replace(a);
    lv.forget(a);
    assert.equal(lv.replace(entry(message({ k: 'y' }))), undefined);
  });
});

describe('DeliverySchedule', () => {
  test('hands entries back when due, by ready time then arrival, with one timer', (t) => {
    mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1000 });
    t.after(() => mock.timers.reset());
    const due: Entry[] = [];
    const s = new DeliverySchedule(() => Date.now(), (e) => due.push(e));
    const late = entry();
    const early1 = entry();
    const early2 = entry();
    s.schedule(late, 1300);
    s.schedule(early1, 1100);
    s.schedule(early2, 1100);
    assert.equal(s.count, 3);
    mock.timers.tick(99);
    assert.deepEqual(due, []);
    mock.timers.tick(1);
    assert.deepEqual(due, [early1, early2]);
    mock.timers.tick(200);
    assert.deepEqual(due, [early1, early2, late]);
    assert.equal(s.count, 0);
  });

  test('an entry forgotten (expired, purged) is skipped when its time comes; stop stops the timer', (t) => {
    mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 });
    t.after(() => mock.timers.reset());
    const due: Entry[] = [];
    const s = new DeliverySchedule(() => Date.now(), (e) => due.push(e));
    const gone = entry();
    const kept = entry();
    s.schedule(gone, 10);
    s.schedule(kept, 20);
    gone.state = 'done';
    s.forget();
    assert.deepEqual(s.live(), [kept]);
    mock.timers.tick(10);
    assert.deepEqual(due, []);
    s.stop();
    mock.timers.tick(100);
    assert.deepEqual(due, [], 'no timer after stop');
  });

  test('redeliver waits the redelivery delay, raised by the multiplier; none asked, none taken', (t) => {
    mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 });
    t.after(() => mock.timers.reset());
    const due: Entry[] = [];
    const s = new DeliverySchedule(() => Date.now(), (e) => due.push(e));
    const e = entry();
    e.deliveryCount = 3;
    assert.equal(s.redeliver(e, DEFAULT_ADDRESS_SETTINGS), false);
    assert.equal(s.redeliver(e, { ...DEFAULT_ADDRESS_SETTINGS, redeliveryDelay: 10, redeliveryMultiplier: 2 }), true);
    mock.timers.tick(39);
    assert.deepEqual(due, []);
    mock.timers.tick(1);
    assert.deepEqual(due, [e]);
  });
});

describe('QueuePager', () => {
  function pagedQueue(store: Map<string, Message>) {
    const held: string[] = [];
    const errors: string[] = [];
    const queue = {
      deleted: false,
      readyCount: 0,
      full: false,
      overMemoryLimit() {
        return this.full;
      },
      holdPaged(ref: PagedRef) {
        held.push(ref.key);
        this.readyCount++;
      },
    };
    const host = {
      read: async (keys: string[]) => keys.map((k) => store.get(k)),
      backgroundError: (err: unknown) => void errors.push(String(err)),
    };
    return { queue, host, held, errors, pager: new QueuePager(queue, host) };
  }

  test('reads paged messages back in order, a batch at a time up to the ready window', async () => {
    const store = new Map<string, Message>();
    const { pager, held, queue } = pagedQueue(store);
    for (let i = 0; i < 1500; i++) {
      store.set(`m${i}`, message());
      pager.push(`m${i}`, 10, 0);
    }
    assert.equal(pager.bytes, 15_000);
    pager.readBack();
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    assert.equal(held.length, 1000, 'stops at the ready window');
    assert.deepEqual(held.slice(0, 3), ['m0', 'm1', 'm2']);
    queue.readyCount = 0;
    pager.readBack();
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    assert.equal(held.length, 1500);
    assert.equal(pager.length, 0);
  });

  test('over a memory limit reads back only when nothing is ready; a held pager discards a read in flight', async () => {
    const store = new Map<string, Message>([['a', message()], ['b', message()]]);
    const { pager, held, queue } = pagedQueue(store);
    pager.push('a', 1, 0);
    pager.push('b', 1, 0);
    queue.full = true;
    queue.readyCount = 1;
    pager.readBack();
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(held, []);
    queue.readyCount = 0;
    pager.readBack();
    pager.hold();
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(held, [], 'the read that was in flight is discarded');
    assert.deepEqual(pager.shift(1).map((r) => r.key), ['a']);
    pager.resume();
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(held, ['b']);
  });

  test('holds nest; a read discarded by a hold does not let a second read of the same messages start', async () => {
    const store = new Map<string, Message>([['a', message()], ['b', message()]]);
    const { pager, held, host } = pagedQueue(store);
    // Reads resolve only when the test says so.
    const pending: Array<() => void> = [];
    const read = host.read;
    let reads = 0;
    host.read = (keys: string[]) => {
      reads++;
      return new Promise((resolve) => pending.push(() => void read(keys).then(resolve)));
    };
    pager.push('a', 1, 0);
    pager.push('b', 1, 0);
    pager.readBack(); // read 1 in flight
    pager.hold();
    pager.hold();
    pager.resume();
    pager.readBack();
    assert.equal(reads, 1, 'still held once');
    pager.resume(); // read 2 starts
    assert.equal(reads, 2);
    pending.shift()!(); // the discarded read 1 resolves
    await new Promise((r) => setImmediate(r));
    pager.readBack();
    assert.equal(reads, 2, 'read 2 is still in flight: no third read of the same keys');
    pending.shift()!();
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    assert.deepEqual(held, ['a', 'b'], 'each message held once');
  });

  test('a message missing from the store is reported, not swallowed', async () => {
    const { pager, errors } = pagedQueue(new Map());
    pager.push('lost', 1, 0);
    pager.readBack();
    await new Promise((r) => setImmediate(r));
    assert.match(errors[0]!, /paged message lost is missing/);
  });
});

describe('ExpirySweep and queueBrowser', () => {
  function levels(...perLevel: Entry[][]): EntryList[] {
    return perLevel.map((es) => {
      const l = new EntryList();
      for (const e of es) l.push(e);
      return l;
    });
  }

  test('the sweep expires what is due within its budget and resumes where it stopped', () => {
    const old = (n: number) => Array.from({ length: n }, () => entry(message({}, { expiration: 5 })));
    const fresh = entry();
    const ls = levels(old(3), [fresh, ...old(2)]);
    const expired: Entry[] = [];
    const sweep = new ExpirySweep(ls, (e) => {
      expired.push(e);
      e.list?.remove(e);
      e.state = 'done';
    });
    const budget = { visits: 2 };
    assert.equal(sweep.run(10, null, budget), false, 'out of budget');
    assert.equal(expired.length, 1);
    let done = false;
    for (let i = 0; i < 20 && !done; i++) done = sweep.run(10, null, { visits: 30 });
    assert.ok(done);
    assert.equal(expired.length, 5);
    assert.ok(!expired.includes(fresh));
  });

  test('the browser shows ready entries highest priority first, then the waiting ones, a batch at a time', () => {
    const low = entry(message({}, { priority: 0 }));
    const high1 = entry(message({}, { priority: 1 }));
    const high2 = entry(message({}, { priority: 1 }));
    const waiting = entry();
    waiting.state = 'scheduled';
    const b = queueBrowser(levels([low], [high1, high2]), () => [waiting]);
    assert.deepEqual(b.next(2), [high1.message, high2.message]);
    assert.deepEqual(b.next(5), [low.message, waiting.message]);
    assert.deepEqual(b.next(5), []);
  });
});
