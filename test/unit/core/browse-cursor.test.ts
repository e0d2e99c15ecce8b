import assert from 'node:assert/strict';
import { test } from 'node:test';
import { QueueCursor } from '../../../src/core/browse-cursor.ts';
import type { Message } from '../../../src/core/message.ts';
import type { QueueBrowser } from '../../../src/core/queue-browser.ts';
import type { Selector } from '../../../src/core/selector/types.ts';

function message(i: number, colour: string): Message {
  return {
    id: `ID:t-${i}`,
    destination: { type: 'queue', name: 'q' },
    body: Buffer.from(`m${i}`),
    bodyType: 'text',
    durable: false,
    priority: 4,
    expiration: 0,
    timestamp: 0,
    properties: { colour },
  };
}

/** A browser over `messages`, handing out at most `max` a call, as QueueBrowser does. */
function browserOf(messages: Message[]): QueueBrowser & { reads: number } {
  let at = 0;
  return {
    reads: 0,
    next(max: number): Message[] {
      this.reads++;
      const out = messages.slice(at, at + max);
      at += out.length;
      return out;
    },
  };
}

/** A selector `colour = 'red'` that costs `cost` ms of the virtual clock per evaluation. */
function costlySelector(clock: { t: number }, cost: number): Selector & { evaluations: number } {
  return {
    text: "colour = 'red'",
    evaluations: 0,
    matches(resolve) {
      this.evaluations++;
      clock.t += cost;
      return resolve('colour') === 'red';
    },
  };
}

function drain(cursor: QueueCursor, max: number, sel: { evaluations: number }): { shown: string[]; perCall: number[] } {
  const shown: string[] = [];
  const perCall: number[] = [];
  while (!cursor.done) {
    const before = sel.evaluations;
    const batch = cursor.next(max);
    assert.ok(batch.length <= max);
    shown.push(...batch.map((m) => m.body.toString()));
    perCall.push(sel.evaluations - before);
  }
  return { shown, perCall };
}

const messages = Array.from({ length: 20 }, (_, i) => message(i, i % 5 === 4 ? 'red' : 'blue'));
const reds = ['m4', 'm9', 'm14', 'm19'];

test('with a selector, one next() evaluates for about 10 ms of the clock; the rest of the batch waits for later calls', () => {
  const clock = { t: 0 };
  const sel = costlySelector(clock, 4);
  const browser = browserOf(messages);
  const { shown, perCall } = drain(new QueueCursor(browser, sel, () => clock.t), 256, sel);
  assert.deepEqual(shown, reds, 'every match, in queue order');
  // 4 ms each: evaluated at 0, 4 and 8 ms of a 10 ms slice, so three a call; the last call finds the end.
  assert.deepEqual(perCall, [3, 3, 3, 3, 3, 3, 2, 0]);
  assert.equal(sel.evaluations, 20, 'each message evaluated once');
  assert.equal(browser.reads, 2, 'the queue is read again only when the batch is used up');
});

test('a call always looks at one message at least, however long it takes, so the cursor moves on', () => {
  const clock = { t: 0 };
  const sel = costlySelector(clock, 100);
  const { shown, perCall } = drain(new QueueCursor(browserOf(messages), sel, () => clock.t), 256, sel);
  assert.deepEqual(shown, reds);
  assert.deepEqual(perCall, [...Array<number>(20).fill(1), 0]);
});

test('a cheap selector: one call looks at no more than max messages', () => {
  const clock = { t: 0 };
  const sel = costlySelector(clock, 0);
  const { shown, perCall } = drain(new QueueCursor(browserOf(messages), sel, () => clock.t), 8, sel);
  assert.deepEqual(shown, reds);
  assert.deepEqual(perCall, [8, 8, 4, 0]);
});

test('without a selector the batches of the queue pass through, and the clock is never read', () => {
  const browser = browserOf(messages);
  const cursor = new QueueCursor(browser, null, () => assert.fail('clock read without a selector'));
  const shown: string[] = [];
  while (!cursor.done) shown.push(...cursor.next(7).map((m) => m.body.toString()));
  assert.equal(shown.length, 20);
  assert.equal(browser.reads, 4);
});
