import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { after, afterEach, before, describe, test } from 'node:test';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { RawStomp } from '../helpers/raw-stomp.ts';

// Version negotiation, STOMP 1.0 and 1.1 acknowledgement, heart-beating and the CONNECT deadline,
// over raw sockets so the exact frames are under the test's control.

let broker: TestBroker;
let port: number;
const clients: RawStomp[] = [];
let seq = 0;

before(async () => {
  // Short heart-beats so the timer paths run within a test.
  broker = await startBroker({ stomp: { heartBeat: [200, 200] } });
  port = broker.ports.stomp!;
});
after(async () => {
  await broker.stop();
});
afterEach(() => {
  for (const c of clients.splice(0)) c.destroy();
});

async function open(to = port): Promise<RawStomp> {
  const c = await RawStomp.open(to);
  clients.push(c);
  return c;
}

async function connect(headers: Record<string, string>): Promise<RawStomp> {
  const c = await RawStomp.connect(port, headers);
  clients.push(c);
  return c;
}

function queueName(): string {
  return `proto.${++seq}`;
}

describe('version negotiation', () => {
  test('the highest version both sides support is chosen', async () => {
    const c = await open();
    c.send('CONNECT', { 'accept-version': '1.0,1.1,1.2', host: 'localhost' });
    const f = await c.nextFrame();
    assert.equal(f.command, 'CONNECTED');
    assert.equal(f.header('version'), '1.2');
  });

  test('a CONNECT without accept-version is STOMP 1.0', async () => {
    const c = await open();
    c.send('CONNECT', { login: 'guest', passcode: 'guest' });
    const f = await c.nextFrame();
    assert.equal(f.command, 'CONNECTED');
    assert.equal(f.header('version'), '1.0');
    assert.equal(f.header('heart-beat'), undefined, 'no heart-beating in 1.0');
  });

  test('the STOMP command connects like CONNECT', async () => {
    const c = await open();
    c.send('STOMP', { 'accept-version': '1.2', host: 'localhost' });
    assert.equal((await c.nextFrame()).command, 'CONNECTED');
  });
});

describe('STOMP 1.0', () => {
  test('SEND, SUBSCRIBE without id and ACK by message-id', async () => {
    const q = queueName();
    const c = await connect({});
    await c.request('SEND', { destination: `/queue/${q}` }, 'one-oh');
    c.send('SUBSCRIBE', { destination: `/queue/${q}`, ack: 'client' });
    const m = await c.nextFrame();
    assert.equal(m.command, 'MESSAGE');
    assert.equal(m.text, 'one-oh');
    assert.equal(m.header('subscription'), `/queue/${q}`, 'the destination is the subscription id');
    assert.equal(m.header('ack'), undefined, 'no 1.2 ack header');
    assert.ok(m.header('message-id'));
    await c.request('ACK', { 'message-id': m.header('message-id')! });
    const stats = broker.core.getQueue(q)!.statistics();
    assert.equal(stats.acked, 1);
    assert.equal(stats.messages, 0);
  });

  test('header values are not unescaped', async () => {
    const q = queueName();
    const c = await connect({});
    await c.request('SEND', { destination: `/queue/${q}`, note: 'a\\cb' }, 'x');
    c.send('SUBSCRIBE', { destination: `/queue/${q}` });
    const m = await c.nextFrame();
    assert.equal(m.header('note'), 'a\\cb');
  });

  test('UNSUBSCRIBE by destination stops deliveries', async () => {
    const q = queueName();
    const c = await connect({});
    c.send('SUBSCRIBE', { destination: `/queue/${q}` });
    await c.request('UNSUBSCRIBE', { destination: `/queue/${q}` });
    await c.request('SEND', { destination: `/queue/${q}` }, 'later');
    assert.equal(c.pending, 0);
    assert.equal(broker.core.getQueue(q)!.messageCount, 1);
  });
});

describe('STOMP 1.1', () => {
  test('ACK by message-id and subscription', async () => {
    const q = queueName();
    const c = await connect({ 'accept-version': '1.1', host: 'localhost' });
    await c.request('SEND', { destination: `/queue/${q}` }, 'one-one');
    c.send('SUBSCRIBE', { id: 'sub-1', destination: `/queue/${q}`, ack: 'client-individual' });
    const m = await c.nextFrame();
    assert.equal(m.command, 'MESSAGE');
    assert.equal(m.header('subscription'), 'sub-1');
    assert.equal(m.header('ack'), undefined, 'no 1.2 ack header');
    await c.request('ACK', { 'message-id': m.header('message-id')!, subscription: 'sub-1' });
    const stats = broker.core.getQueue(q)!.statistics();
    assert.equal(stats.acked, 1);
    assert.equal(stats.messages, 0);
  });

  test('ACK with an unknown message-id for a known subscription is an ERROR', async () => {
    const q = queueName();
    const c = await connect({ 'accept-version': '1.1', host: 'localhost' });
    c.send('SUBSCRIBE', { id: 'sub-1', destination: `/queue/${q}`, ack: 'client-individual' });
    c.send('ACK', { 'message-id': 'ID:nope-1', subscription: 'sub-1' });
    const f = await c.nextFrame();
    assert.equal(f.command, 'ERROR');
    assert.equal(f.header('message'), 'Unknown ack id');
    await c.closed();
  });

  test('SUBSCRIBE without id is an ERROR', async () => {
    const c = await connect({ 'accept-version': '1.1', host: 'localhost' });
    c.send('SUBSCRIBE', { destination: '/queue/x' });
    const f = await c.nextFrame();
    assert.equal(f.command, 'ERROR');
    assert.equal(f.header('message'), 'Missing header');
    await c.closed();
  });
});

describe('heart-beating', () => {
  test('CONNECTED offers the configured heart-beat', async () => {
    const c = await open();
    c.send('CONNECT', { 'accept-version': '1.2', host: 'localhost', 'heart-beat': '0,500' });
    const f = await c.nextFrame();
    assert.equal(f.header('heart-beat'), '200,200');
  });

  test('the server sends EOL heart-beats to a client that asks for them', async () => {
    const c = await connect({ 'accept-version': '1.2', host: 'localhost', 'heart-beat': '0,500' });
    await c.heartbeat(2);
    assert.equal(c.pending, 0, 'heart-beats are not frames');
  });

  test('the server sends no heart-beats to a client that does not want them', async () => {
    const c = await connect({ 'accept-version': '1.2', host: 'localhost', 'heart-beat': '0,0' });
    await delay(700); // quiet window: more than three of the server's 200 ms periods
    assert.equal(c.heartbeats, 0);
  });

  test('a client that promised heart-beats and goes silent is disconnected', async () => {
    const c = await connect({ 'accept-version': '1.2', host: 'localhost', 'heart-beat': '200,0' });
    await c.closed();
  });

  test('a client that keeps its heart-beat promise stays connected', async () => {
    const q = queueName();
    const c = await connect({ 'accept-version': '1.2', host: 'localhost', 'heart-beat': '300,0' });
    // Quiet window of ~1 s (longer than the 600 ms grace), beating every 100 ms.
    for (let i = 0; i < 10; i++) {
      c.write('\n');
      await delay(100);
    }
    assert.equal(c.isClosed, false);
    await c.request('SEND', { destination: `/queue/${q}` }, 'still here');
  });
});

describe('CONNECT deadline', () => {
  // A broker of its own: a deadline this short could catch the other tests' CONNECTs on a loaded machine.
  let strict: TestBroker;
  before(async () => {
    strict = await startBroker({ stomp: { connectTimeout: 300 } });
  });
  after(async () => {
    await strict.stop();
  });

  test('a connection that never sends CONNECT gets an ERROR and is closed', async () => {
    const c = await open(strict.ports.stomp!);
    const f = await c.nextFrame();
    assert.equal(f.command, 'ERROR');
    assert.match(f.text, /No CONNECT frame within 300 ms/);
    await c.closed();
  });

  // (Another protocol's first bytes, such as an HTTP request, are answered at once by the listener: transport-wrong-protocol.test.ts.)
  test('a client that sends bytes that never make a frame gets an ERROR at the deadline and is closed', async () => {
    const c = await open(strict.ports.stomp!);
    c.write('hello broker');
    const f = await c.nextFrame();
    assert.equal(f.command, 'ERROR');
    await c.closed();
  });
});
