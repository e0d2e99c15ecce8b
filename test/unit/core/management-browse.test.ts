import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { scanCounters } from '../../../src/core/browse-pages.ts';
import type { Core } from '../../../src/core/core.ts';
import type { Message } from '../../../src/core/message.ts';
import type { Origin } from '../../../src/core/reserved.ts';
import { MemoryStore } from '../../../src/store/memory-store.ts';
import { FakeAuthorizer, subjectOf } from '../../helpers/fake-authorizer.ts';
import { closeCores, consume, msg, openCore, queue, rejection } from './core-fixture.ts';

// Issue 15: stateless keyset paging over a queue (Core.browsePage) and findMessage.

afterEach(closeCores);

/** Every page from the start, `limit` at a time: the messages and how many pages it took. */
async function walk(core: Core, name: string, limit: number, selector?: string): Promise<{ messages: Message[]; pages: number }> {
  const messages: Message[] = [];
  let after: string | undefined;
  let pages = 0;
  do {
    const page = await core.browsePage(name, { limit, ...(after !== undefined ? { after } : {}), ...(selector !== undefined ? { selector } : {}) });
    assert.ok(page.messages.length <= limit);
    messages.push(...page.messages);
    after = page.next;
    pages++;
  } while (after !== undefined);
  return { messages, pages };
}

const bodies = (ms: readonly Message[]) => ms.map((m) => m.body.toString());

describe('browsePage', () => {
  test('delivery order: priority, then arrival; then scheduled by time; then in delivery; pages of any size see each once', async () => {
    const core = await openCore();
    const now = Date.now();
    await core.send(msg(queue('q'), 'late', { deliveryTime: now + 60_000 }));
    await core.send(msg(queue('q'), 'early', { deliveryTime: now + 30_000 }));
    for (let i = 0; i < 10; i++) await core.send(msg(queue('q'), `p${i % 3}-${i}`, { priority: i % 3 }));
    const { sink } = await consume(core, { destination: queue('q') }, 1);
    const taken = (await sink.count(1))[0]!.message.body.toString();
    assert.equal(taken, 'p2-2');
    const expected = ['p2-5', 'p2-8', 'p1-1', 'p1-4', 'p1-7', 'p0-0', 'p0-3', 'p0-6', 'p0-9', 'early', 'late', 'p2-2'];
    for (const limit of [1, 2, 3, 5, 100]) assert.deepEqual(bodies((await walk(core, 'q', limit)).messages), expected, `limit ${limit}`);
    const sel = await walk(core, 'q', 2, 'JMSPriority = 1');
    assert.deepEqual(bodies(sel.messages), ['p1-1', 'p1-4', 'p1-7']);
  });

  test('messages that leave between pages are not seen, and paging goes on from where it was', async () => {
    const core = await openCore();
    for (let i = 0; i < 20; i++) await core.send(msg(queue('q'), `m${i}`));
    const first = await core.browsePage('q', { limit: 5 });
    assert.deepEqual(bodies(first.messages), ['m0', 'm1', 'm2', 'm3', 'm4']);
    // A consumer takes m0-m9, the last one shown (m4, the checkpoint) among them.
    const { consumer, sink } = await consume(core, { destination: queue('q') }, 10);
    for (const d of await sink.count(10)) await consumer.ack(d.id);
    const second = await core.browsePage('q', { limit: 5, after: first.next! });
    assert.deepEqual(bodies(second.messages), ['m10', 'm11', 'm12', 'm13', 'm14']);
  });

  test('paged messages (only in the store) are browsed in order after those in memory, and found by id', async () => {
    const store = new MemoryStore();
    const core = await openCore({ store, globalMaxSizeBytes: 20_000 });
    const sent: Message[] = [];
    for (let i = 0; i < 300; i++) sent.push(await core.send(msg(queue('big'), `m${String(i).padStart(3, '0')}`.padEnd(500, '.'), { durable: true })));
    const stats = core.queueStats().find((s) => s.name === 'big')!;
    assert.ok(stats.paged > 200, `paged: ${stats.paged}`);
    const { messages } = await walk(core, 'big', 64);
    assert.deepEqual(
      messages.map((m) => m.id),
      sent.map((m) => m.id),
    );
    const deep = sent[290]!;
    assert.equal((await core.findMessage('big', deep.id))?.body.toString(), deep.body.toString());
    assert.equal(await core.findMessage('big', 'ID:none'), undefined);
    const sel = await walk(core, 'big', 10, "JMSMessageID = '" + sent[250]!.id + "'");
    assert.deepEqual(
      sel.messages.map((m) => m.id),
      [sent[250]!.id],
    );
  });

  test('100,000 messages: each page costs its size, so walking them all looks at each about once (counts)', async () => {
    const core = await openCore();
    const n = 100_000;
    for (let i = 0; i < n; i++) core.sendNow({ destination: queue('huge'), body: Buffer.from(String(i)), priority: i % 2 === 0 ? 4 : 6 });
    const before = scanCounters.visited;
    const { messages, pages } = await walk(core, 'huge', 1000);
    assert.equal(messages.length, n);
    assert.equal(pages, 101, '100 full pages and the end');
    assert.equal(messages[0]!.priority, 6);
    assert.equal(messages[n / 2]!.priority, 4);
    const visited = scanCounters.visited - before;
    assert.ok(visited <= n + pages, `looked at ${visited} for ${n} messages`);
    // A page deep in the queue, from a token handed out before: O(limit), not O(position).
    let token: string | undefined;
    for (let i = 0; i < 80; i++) token = (await core.browsePage('huge', { limit: 1000, ...(token ? { after: token } : {}) })).next;
    const deep = scanCounters.visited;
    const page = await core.browsePage('huge', { limit: 1000, after: token! });
    assert.equal(page.messages.length, 1000);
    assert.ok(scanCounters.visited - deep <= 1001, `one deep page looked at ${scanCounters.visited - deep}`);
  });

  test('a selector that matches little: each call is bounded, and pages may be empty with next set', async () => {
    const core = await openCore();
    for (let i = 0; i < 50_000; i++) core.sendNow({ destination: queue('sparse'), body: Buffer.from('x'), properties: { n: i } });
    const before = scanCounters.visited;
    const first = await core.browsePage('sparse', { limit: 10, selector: 'n = 49999' });
    assert.ok(scanCounters.visited - before <= 20_000, `one call looked at ${scanCounters.visited - before}`);
    assert.equal(first.messages.length, 0);
    assert.ok(first.next !== undefined);
    const { messages } = await walk(core, 'sparse', 10, 'n = 49999 OR n = 7');
    assert.deepEqual(
      messages.map((m) => m.properties.n),
      [7, 49999],
    );
  });

  test('limits, bad cursors, bad selectors, missing queues, permissions', async () => {
    const authz = new FakeAuthorizer({ reader: ['browse q'], manager: ['manage q'] });
    const core = await openCore({ authorizer: authz });
    for (let i = 0; i < 1500; i++) core.sendNow({ destination: queue('q'), body: Buffer.from('x') });
    const reader: Origin = { component: 'management', subject: subjectOf('reader') };
    const manager: Origin = { component: 'management', subject: subjectOf('manager') };
    assert.equal((await core.browsePage('q', { limit: 5000 }, reader)).messages.length, 1000, 'at most 1000');
    assert.equal((await core.browsePage('q', { limit: 0 }, reader)).messages.length, 1);
    for (const after of ['garbage', Buffer.from('1.0.10.5').toString('base64url'), Buffer.from('1.7.1.1').toString('base64url'), 'x'.repeat(100)]) {
      assert.equal((await rejection(core.browsePage('q', { limit: 5, after }, reader))).code, 'ERR_CURSOR_INVALID', after);
    }
    assert.equal((await rejection(core.browsePage('q', { limit: 5, selector: 'a = ' }, reader))).code, 'ERR_SELECTOR_SYNTAX');
    assert.equal((await rejection(core.browsePage('q', { limit: 5 }, manager))).code, 'ERR_SECURITY_UNAUTHORIZED');
    assert.equal((await rejection(core.findMessage('q', 'ID:x', manager))).code, 'ERR_SECURITY_UNAUTHORIZED');
    assert.equal((await rejection(core.browsePage('nope', { limit: 5 }))).code, 'ERR_ADDRESS_NOT_FOUND');
    assert.ok(authz.denials.some(([user, , perm]) => user === 'manager' && perm === 'browse'));
  });
});
