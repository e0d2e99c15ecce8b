/**
 * The queues and messages REST API end to end (issue 15): a broker started in process with an HTTP
 * port, fetch over real HTTP, real STOMP (stompjs) and AMQP (rhea) clients filling and draining queues.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { AmqpTestClient } from '../helpers/amqp-client.ts';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { QueuesApi } from '../helpers/queues-api.ts';
import { connectFor, eventually, QUIET_WINDOW } from '../helpers/stompjs.ts';

let broker: TestBroker;
let api: QueuesApi;

before(async () => {
  broker = await startBroker({ addressSettings: { 'mq.orders': { deadLetterAddress: 'mq.DLQ', maxDeliveryAttempts: 1 } } });
  api = new QueuesApi(broker);
});
after(() => broker.stop());

/** An AMQP body as bytes: a data section (rhea gives `{typecode, content}`), a binary or a string value. */
function amqpBody(body: unknown): Buffer {
  if (typeof body === 'string') return Buffer.from(body);
  if (Buffer.isBuffer(body)) return body;
  const content = (body as { content?: unknown } | undefined)?.content;
  assert.ok(Buffer.isBuffer(content), `an AMQP body with bytes: ${JSON.stringify(body)}`);
  return content;
}

const names = (page: { items: Array<{ name: string }> }) => page.items.map((i) => i.name);

test('queues: list with filter, kind, sort and cursor paging over real HTTP', async () => {
  for (let i = 0; i < 25; i++) {
    const created = await api.call('POST', '/queues', { name: `lq.${String(i).padStart(2, '0')}`, durable: i % 2 === 0 });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(created.body.durable, i % 2 === 0);
    for (let k = 0; k < i % 5; k++) await broker.core.send({ destination: { type: 'queue', name: created.body.name }, body: Buffer.from(`m${k}`) });
  }
  // By name, 10 at a time: all 25 exactly once, in order.
  const seen: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await api.get(`/queues?filter=lq.&limit=10${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    assert.equal(page.total, 25);
    assert.ok(page.items.length <= 10);
    seen.push(...names(page));
    cursor = page.next;
  } while (cursor !== undefined);
  assert.deepEqual(seen, Array.from({ length: 25 }, (_, i) => `lq.${String(i).padStart(2, '0')}`));
  // By message count, descending; names break ties.
  const byDepth = await api.get('/queues?filter=lq.&sort=-messages&limit=1000');
  const expected = Array.from({ length: 25 }, (_, i) => ({ name: `lq.${String(i).padStart(2, '0')}`, messages: i % 5 })).sort((a, b) => b.messages - a.messages || (a.name < b.name ? -1 : 1));
  assert.deepEqual(byDepth.items.map((q: { name: string; messages: number }) => [q.name, q.messages]), expected.map((q) => [q.name, q.messages]));
  assert.equal((await api.call('GET', `/queues?sort=name&cursor=${encodeURIComponent(byDepth.next ?? (await api.get('/queues?filter=lq.&sort=-messages&limit=2')).next)}`)).status, 400, "another sort's cursor");
  assert.equal((await api.call('GET', '/queues?limit=5000')).status, 400);
  // Addresses: the queues appear as anycast addresses with their depth.
  const addrs = await api.get('/addresses?filter=lq.0&kind=anycast');
  assert.deepEqual(names(addrs), ['lq.00', 'lq.01', 'lq.02', 'lq.03', 'lq.04', 'lq.05', 'lq.06', 'lq.07', 'lq.08', 'lq.09']);
  assert.equal(addrs.items[4].messages, 4);
  assert.deepEqual(names(await api.get('/addresses?filter=lq.&kind=multicast')), []);
  // Create: an existing name is a 409, a bad one a 400.
  assert.equal((await api.call('POST', '/queues', { name: 'lq.00' })).status, 409);
  assert.equal((await api.call('POST', '/queues', { name: 'bad name*' })).status, 400);
});

test('queues: pause and resume with a live STOMP consumer, detail, delete with and without force', async (t) => {
  assert.equal((await api.call('POST', '/queues', { name: 'pq.live' })).status, 201);
  const client = await connectFor(t, broker);
  const inbox = await client.subscribe('/queue/pq.live', { ack: 'auto' });
  const detail = await api.get('/queues/pq.live');
  assert.equal(detail.consumers, 1);
  assert.equal(detail.consumerList.length, 1);
  assert.equal(detail.address, 'pq.live');
  assert.equal(detail.paused, false);

  const paused = await api.call('POST', '/queues/pq.live/pause');
  assert.equal(paused.status, 200);
  assert.equal(paused.body.paused, true);
  await client.send('/queue/pq.live', 'while paused');
  await inbox.expectNone(QUIET_WINDOW);
  const held = await api.get('/queues/pq.live');
  assert.equal(held.messages, 1, 'the send was accepted and kept');
  assert.equal(held.paused, true);

  assert.equal((await api.call('POST', '/queues/pq.live/resume')).body.paused, false);
  assert.equal((await inbox.one()).body, 'while paused');

  // Delete: 409 while a consumer is attached; force deletes it anyway.
  const refused = await api.call('DELETE', '/queues/pq.live');
  assert.equal(refused.status, 409);
  assert.equal(refused.body.error.code, 'ERR_QUEUE_IN_USE');
  assert.equal((await api.call('DELETE', '/queues/pq.live?force=true')).status, 204);
  assert.equal((await api.call('GET', '/queues/pq.live')).status, 404);
  // An empty, unused queue goes without force.
  assert.equal((await api.call('POST', '/queues', { name: 'pq.idle', durable: false })).status, 201);
  assert.equal((await api.call('DELETE', '/queues/pq.idle')).status, 204);
  assert.equal((await api.call('DELETE', '/queues/pq.idle')).status, 404);
});

test('messages: a binary body comes back byte for byte; detail has headers and properties', async (t) => {
  const client = await connectFor(t, broker);
  const body = new Uint8Array(6000);
  for (let i = 0; i < body.length; i++) body[i] = (i * 7919) & 0xff; // every byte value, NULs included
  await client.send('/queue/bq.bin', body, { 'correlation-id': 'corr-7', color: 'blue', persistent: 'true' });
  const page = await api.get('/queues/bq.bin/messages');
  assert.equal(page.items.length, 1);
  assert.equal(page.total, 1);
  const summary = page.items[0];
  assert.equal(summary.size, 6000);
  assert.equal(summary.correlationId, 'corr-7');
  assert.equal(summary.properties.color, 'blue');
  assert.equal(summary.preview.encoding, 'base64');
  const id = encodeURIComponent(summary.id);
  const detail = await api.get(`/queues/bq.bin/messages/${id}`);
  assert.equal(detail.bodySize, 6000);
  assert.equal(detail.durable, true);
  assert.equal(detail.body.encoding, 'base64');
  assert.equal(detail.body.truncated, true);
  assert.deepEqual(Buffer.from(detail.body.data, 'base64'), Buffer.from(body.subarray(0, 4096)));
  const raw = await api.bytes(`/queues/bq.bin/messages/${id}/body`);
  assert.equal(raw.status, 200);
  assert.match(raw.headers.get('content-disposition') ?? '', /^attachment; filename=".+\.bin"$/);
  assert.deepEqual(raw.body, Buffer.from(body));
  assert.equal((await api.call('GET', `/queues/bq.bin/messages/${encodeURIComponent('ID:none')}`)).status, 404);
  assert.equal((await api.call('GET', '/queues/bq.none/messages')).status, 404);
  // Browsing is non-destructive.
  assert.equal((await api.get('/queues/bq.bin')).messages, 1);
});

test('messages: purge by selector removes only the matching messages; purge all empties the queue', async (t) => {
  const client = await connectFor(t, broker);
  for (let i = 0; i < 10; i++) await client.send('/queue/sq.purge', `m${i}`, { color: i % 2 === 0 ? 'red' : 'blue' });
  const purged = await api.call('DELETE', `/queues/sq.purge/messages?selector=${encodeURIComponent("color = 'red'")}`);
  assert.equal(purged.status, 200, JSON.stringify(purged.body));
  assert.deepEqual(purged.body, { removed: 5, skipped: 0 });
  const left = await api.get(`/queues/sq.purge/messages?selector=${encodeURIComponent("color = 'blue'")}`);
  assert.equal(left.items.length, 5);
  assert.equal((await api.get('/queues/sq.purge/messages')).items.length, 5);
  assert.equal((await api.call('DELETE', `/queues/sq.purge/messages?selector=${encodeURIComponent('color = ')}`)).status, 400);
  // A message in delivery to a consumer is left alone and counted as skipped (as Artemis does).
  const inbox = await client.subscribe('/queue/sq.purge', { ack: 'client-individual', 'activemq.prefetchSize': '1' });
  const held = await inbox.one();
  assert.deepEqual((await api.call('DELETE', '/queues/sq.purge/messages')).body, { removed: 4, skipped: 1 });
  assert.equal((await api.get('/queues/sq.purge')).messages, 1);
  await client.ack(held);
  assert.equal((await api.get('/queues/sq.purge')).messages, 0);
});

test('messages: a dead-lettered message retried to its original queue is consumed there by an AMQP client', async (t) => {
  const client = await connectFor(t, broker);
  const inbox = await client.subscribe('/queue/mq.orders', { ack: 'client-individual' });
  await client.send('/queue/mq.orders', 'poison', { attempt: '1' });
  await client.nack(await inbox.one());
  await client.unsubscribe(inbox);
  await eventually(() => assert.equal(broker.core.getQueue('mq.DLQ')?.messageCount, 1));
  const dlq = await api.get('/queues/mq.DLQ/messages');
  assert.deepEqual(dlq.items[0].originalDestination, { type: 'queue', name: 'mq.orders' });

  const started = await api.call('POST', '/queues/mq.DLQ/messages/actions', { action: 'retry', ids: [dlq.items[0].id] });
  assert.equal(started.status, 202, JSON.stringify(started.body));
  assert.equal(started.body.job.action, 'retry');
  const states = await api.waitJob(started.body.job.id);
  const done = states[states.length - 1];
  assert.equal(done.state, 'done', JSON.stringify(done));
  assert.equal(done.processed, 1);
  assert.equal((await api.get('/queues/mq.DLQ')).messages, 0);

  const amqp = await AmqpTestClient.connect(broker.ports.amqp!);
  t.after(() => amqp.close());
  const receiver = await amqp.receiver('mq.orders', 1);
  const got = await receiver.next();
  assert.equal(amqpBody(got.message.body).toString(), 'poison');
  got.delivery.accept();
  await eventually(() => assert.equal(broker.core.getQueue('mq.orders')?.messageCount, 0));
});

test('messages: a test message is received by a STOMP client (queue) and an AMQP client (topic)', async (t) => {
  const client = await connectFor(t, broker);
  const inbox = await client.subscribe('/queue/tq.test', { ack: 'auto' });
  const sent = await api.call('POST', '/messages', {
    address: 'tq.test',
    type: 'queue',
    body: 'hello from the console',
    headers: { correlationId: 'c-42', type: 'greeting', priority: 7, ttl: 60_000 },
    properties: { region: 'eu', n: 3, urgent: true },
  });
  assert.equal(sent.status, 201, JSON.stringify(sent.body));
  const m = await inbox.one();
  assert.equal(m.body, 'hello from the console');
  assert.equal(m.headers['message-id'], sent.body.id);
  assert.equal(m.headers['correlation-id'], 'c-42');
  assert.equal(m.headers.type, 'greeting');
  assert.equal(m.headers.priority, '7');
  assert.ok(Number(m.headers.expires) > Date.now());
  assert.equal(m.headers.region, 'eu');
  assert.equal(m.headers.n, '3');
  assert.equal(m.headers.urgent, 'true');

  const amqp = await AmqpTestClient.connect(broker.ports.amqp!);
  t.after(() => amqp.close());
  // An AMQP sender link declares its address: the queue's detail counts it as a producer.
  assert.equal((await api.get('/queues/tq.test')).producers, 0);
  const sender = await amqp.sender('tq.test');
  assert.equal((await api.get('/queues/tq.test')).producers, 1);
  await amqp.closeLink(sender);
  const receiver = await amqp.receiver('topic://tq.news', 1);
  const bytes = Buffer.from([0, 1, 2, 253, 254, 255]);
  const pub = await api.call('POST', '/messages', { address: 'tq.news', type: 'topic', body: bytes.toString('base64'), bodyEncoding: 'base64' });
  assert.equal(pub.status, 201);
  const got = await receiver.next();
  assert.deepEqual(amqpBody(got.message.body), bytes);
  assert.equal((await api.call('POST', '/messages', { address: 'tq.test', body: 'x', properties: { 'x-amqp-body': 'y' } })).status, 400);
});

test('subscriptions: durable ones are listed by client id and deleted once no consumer is attached', async (t) => {
  const client = await connectFor(t, broker, { connectHeaders: { 'client-id': 'dur-client' } });
  const inbox = await client.subscribe('/topic/ds.news', { 'activemq.subscriptionName': 'news-sub', ack: 'auto' });
  const list = await api.get('/subscriptions?clientId=dur-client');
  assert.equal(list.items.length, 1);
  const sub = list.items[0];
  assert.equal(sub.topic, 'ds.news');
  assert.equal(sub.durable, true);
  assert.equal(sub.consumers, 1);
  assert.deepEqual((await api.get('/subscriptions?clientId=nobody')).items, []);
  const detail = await api.get(`/queues/${encodeURIComponent(sub.name)}`);
  assert.equal(detail.kind, 'subscription');
  assert.equal(detail.subscription.clientId, 'dur-client');
  const inUse = await api.call('DELETE', `/subscriptions/${encodeURIComponent(sub.name)}`);
  assert.equal(inUse.status, 409);
  await client.unsubscribe(inbox); // detaches; a durable subscription stays
  await eventually(() => assert.equal(broker.core.findSubscription(sub.name)?.consumers, 0));
  assert.equal((await api.call('DELETE', `/subscriptions/${encodeURIComponent(sub.name)}`)).status, 204);
  assert.deepEqual((await api.get('/subscriptions?clientId=dur-client')).items, []);
  assert.equal((await api.call('DELETE', `/subscriptions/${encodeURIComponent(sub.name)}`)).status, 404);
});
