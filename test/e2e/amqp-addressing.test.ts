import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import rhea from 'rhea';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { AmqpTestClient, eventually } from '../helpers/amqp-client.ts';

// AMQP 1.0 with the rhea client over TCP: connection, addressing, anonymous relay, dynamic nodes.

let broker: TestBroker;
let closedBroker: TestBroker;
const clients: AmqpTestClient[] = [];

async function client(opts: Parameters<typeof AmqpTestClient.connect>[1] = {}, b: TestBroker = broker): Promise<AmqpTestClient> {
  const c = await AmqpTestClient.connect(b.ports.amqp!, opts);
  clients.push(c);
  return c;
}

before(async () => {
  broker = await startBroker();
  closedBroker = await startBroker({ queues: ['known'], topics: ['news'], addressSettings: { '>': { autoCreate: false } } });
});
after(async () => {
  for (const c of clients) await c.close().catch(() => undefined);
  await broker.stop();
  await closedBroker.stop();
});

describe('connection', () => {
  test('open advertises ANONYMOUS-RELAY, the max frame size and the idle timeout', async () => {
    const c = await client();
    const open = (c.connection as unknown as { remote: { open: { offered_capabilities: string[]; max_frame_size: number; idle_time_out: number; channel_max: number } } }).remote.open;
    assert.ok(open.offered_capabilities.includes('ANONYMOUS-RELAY'));
    assert.equal(open.max_frame_size, broker.config.amqp.maxFrameSize);
    assert.equal(open.idle_time_out, broker.config.amqp.idleTimeout);
    assert.equal(open.channel_max, broker.config.amqp.channelMax);
  });

  test('SASL PLAIN is accepted (any user until security is configured)', async () => {
    const c = await client({ username: 'alice', password: 'secret' });
    const s = await c.sender('queue://sasl.plain');
    assert.equal((await c.send(s, { body: 'x' })).state, 'accepted');
  });
});

describe('addressing', () => {
  test('queue://NAME and plain NAME are the same queue', async () => {
    const c = await client();
    const s = await c.sender('queue://addr.q1');
    await c.send(s, { body: 'one' });
    const r = await c.receiver('addr.q1');
    const { message, delivery } = await r.next();
    assert.equal(message.body, 'one');
    delivery.accept();
    assert.equal(message.to, 'addr.q1');
  });

  test('topic://NAME fans out to every subscriber; the topic capability on a plain name means a topic', async () => {
    const c = await client();
    const r1 = await c.receiver('topic://addr.t1');
    const r2 = await c.receiver({ address: 'addr.t1', capabilities: ['topic'] });
    const s = await c.sender({ address: 'addr.t1', capabilities: ['topic'] });
    await c.send(s, { body: 'fan' });
    for (const r of [r1, r2]) {
      const { message, delivery } = await r.next();
      assert.equal(message.body, 'fan');
      assert.equal(message.to, 'topic://addr.t1');
      delivery.accept();
    }
    assert.equal(broker.core.getQueue('addr.t1'), undefined, 'no queue was created for the topic');
  });

  test('the queue capability on a plain name means a queue', async () => {
    const c = await client();
    const s = await c.sender({ address: 'addr.q2', capabilities: ['queue'] });
    await c.send(s, { body: 'q' });
    assert.equal(broker.core.getQueue('addr.q2')?.messageCount, 1);
  });

  test('anonymous relay: a sender with a null target routes each message by its to address', async () => {
    const c = await client();
    const s = await c.sender(null);
    const rq = await c.receiver('relay.q');
    const rt = await c.receiver('topic://relay.t');
    assert.equal((await c.send(s, { to: 'relay.q', body: 'to-queue' })).state, 'accepted');
    assert.equal((await c.send(s, { to: 'topic://relay.t', body: 'to-topic' })).state, 'accepted');
    assert.equal((await rq.next()).message.body, 'to-queue');
    assert.equal((await rt.next()).message.body, 'to-topic');
  });

  test('anonymous relay: a message without to is rejected with amqp:invalid-field, the link stays', async () => {
    const c = await client();
    const s = await c.sender(null);
    const out = await c.send(s, { body: 'nowhere' });
    assert.equal(out.state, 'rejected');
    assert.equal(out.error?.condition, 'amqp:invalid-field');
    assert.equal((await c.send(s, { to: 'relay.after', body: 'ok' })).state, 'accepted');
  });

  test('a dynamic source gets a temporary queue that lives as long as its link (request-reply)', async () => {
    const c = await client();
    const replies = await c.receiver({ dynamic: true }, 10);
    const address = (replies.link as unknown as { remote: { attach: { source: { address: string } } } }).remote.attach.source.address;
    assert.match(address, /^\$tmp\./);
    assert.ok(broker.core.getQueue(address));
    // A service replies to the reply-to address.
    const requests = await c.receiver('rpc.requests');
    const s = await c.sender('rpc.requests');
    await c.send(s, { body: 'ping', reply_to: address, correlation_id: 'c1' });
    const req = await requests.next();
    req.delivery.accept();
    assert.equal(req.message.reply_to, address);
    const relay = await c.sender(null);
    await c.send(relay, { to: req.message.reply_to, correlation_id: req.message.correlation_id, body: 'pong' });
    const reply = await replies.next();
    assert.equal(reply.message.body, 'pong');
    assert.equal(reply.message.correlation_id, 'c1');
    reply.delivery.accept();
    await c.closeLink(replies.link);
    await eventually(() => broker.core.getQueue(address) === undefined, 'the temporary queue to be deleted');
  });

  test('a dynamic target (Qpid JMS TemporaryQueue) gets a temporary queue that lives as long as the sender link', async () => {
    const c = await client();
    const s = await c.sender({ dynamic: true, capabilities: ['temporary-queue'] });
    const address = (s as unknown as { remote: { attach: { target: { address: string } } } }).remote.attach.target.address;
    assert.match(address, /^\$tmp\./);
    const r = await c.receiver(address);
    assert.equal((await c.send(s, { body: 'to the temp queue' })).state, 'accepted');
    const got = await r.next();
    assert.equal(got.message.body, 'to the temp queue');
    got.delivery.accept();
    await c.closeLink(r.link);
    await c.closeLink(s);
    await eventually(() => broker.core.getQueue(address) === undefined, 'the temporary queue to be deleted');
  });

  test('a queue browser (distribution-mode copy) sees the messages without consuming them; drain ends it', async () => {
    const c = await client();
    const s = await c.sender('browse.q');
    for (const body of ['b1', 'b2', 'b3']) await c.send(s, { body, application_properties: { keep: body !== 'b2' } });
    const r = await c.receiver({ address: 'browse.q', distribution_mode: 'copy', filter: rhea.filter.selector('keep = true') }, 0);
    const drained = new Promise<void>((resolve) => r.link.once('receiver_drained', () => resolve()));
    r.link.add_credit(10);
    r.link.drain_credit();
    await drained;
    const seen = await r.drainFor(0);
    assert.deepEqual(seen.map((x) => x.message.body), ['b1', 'b3']);
    assert.equal(broker.core.getQueue('browse.q')!.messageCount, 3, 'nothing consumed');
  });

  test('unknown address with auto-create off: sender and receiver links are refused with amqp:not-found', async () => {
    const c = await client({}, closedBroker);
    assert.equal((await c.refusedSender('queue://nope')).condition, 'amqp:not-found');
    assert.equal((await c.refusedReceiver('queue://nope')).condition, 'amqp:not-found');
    assert.equal((await c.refusedReceiver('topic://nope')).condition, 'amqp:not-found');
    // Existing ones work on the same connection.
    const s = await c.sender('known');
    assert.equal((await c.send(s, { body: 'k' })).state, 'accepted');
    await c.receiver('topic://news');
  });

  test('anonymous relay to an unknown address with auto-create off: that message is rejected with amqp:not-found', async () => {
    const c = await client({}, closedBroker);
    const s = await c.sender(null);
    const out = await c.send(s, { to: 'missing.q', body: 'x' });
    assert.equal(out.state, 'rejected');
    assert.equal(out.error?.condition, 'amqp:not-found');
  });

  test('an invalid address is refused with amqp:invalid-field', async () => {
    const c = await client();
    assert.equal((await c.refusedSender('queue://bad..name')).condition, 'amqp:invalid-field');
    assert.equal((await c.refusedReceiver('queue://wild.*')).condition, 'amqp:invalid-field');
    assert.equal((await c.refusedSender('topic://a.>')).condition, 'amqp:invalid-field');
  });

  test('a wildcard topic receiver gets messages of every matching topic', async () => {
    const c = await client();
    const r = await c.receiver('topic://wild.*.temp');
    const s1 = await c.sender('topic://wild.1.temp');
    const s2 = await c.sender('topic://wild.2.temp');
    await c.send(s1, { body: 'a' });
    await c.send(s2, { body: 'b' });
    const got = [(await r.next()).message.body, (await r.next()).message.body];
    assert.deepEqual(got.sort(), ['a', 'b']);
  });
});

describe('WebSocket', () => {
  test('AMQP over WebSocket (subprotocol amqp) on the WebSocket port', async () => {
    const { default: WebSocket } = await import('ws');
    const container = rhea.create_container();
    const ws = container.websocket_connect(WebSocket as unknown as Parameters<typeof container.websocket_connect>[0]);
    const conn = container.connect({ connection_details: ws(`ws://127.0.0.1:${broker.ports.ws}`, ['amqp'], {}), reconnect: false } as unknown as Parameters<typeof container.connect>[0]);
    conn.on('error', () => undefined);
    try {
      const got = await new Promise<unknown>((resolve, reject) => {
        conn.once('connection_error', () => reject(new Error('refused')));
        conn.open_receiver({ source: { address: 'ws.q' }, credit_window: 10 }).on('message', (ctx) => resolve(ctx.message?.body));
        conn.open_sender('ws.q').once('sendable', (ctx) => ctx.sender?.send({ body: 'over websocket' }));
      });
      assert.equal(got, 'over websocket');
    } finally {
      conn.close();
    }
  });
});

describe('shutdown', () => {
  test('a stopping broker closes AMQP connections with amqp:connection:forced', async () => {
    const b = await startBroker();
    const c = await AmqpTestClient.connect(b.ports.amqp!);
    const closed = new Promise<string | undefined>((resolve) => {
      c.connection.once('connection_close', (ctx) => resolve((ctx.connection as unknown as { error?: { condition?: string } }).error?.condition));
      c.connection.once('disconnected', () => resolve('disconnected without close'));
    });
    await b.stop();
    assert.equal(await closed, 'amqp:connection:forced');
  });
});
