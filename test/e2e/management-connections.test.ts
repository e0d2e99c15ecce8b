import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { hashPassword } from '../../src/security/password-hash.ts';
import { writeUsersFile } from '../../src/security/users-file.ts';
import { AmqpTestClient, eventually } from '../helpers/amqp-client.ts';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { TestMqttClient } from '../helpers/mqtt-client.ts';
import { connect as stompConnect, type TestClient } from '../helpers/stompjs.ts';

// Connection management over real HTTP with real clients of each protocol (issue 15): listed with
// their protocol, user, client id, subscriptions and byte counts; closed with each protocol's own close.

const MOSQ_SUB = '/usr/bin/mosquitto_sub';
const FAST = { ln: 10, r: 8, p: 1 };
const ALL = ['send', 'consume', 'browse', 'createAddress', 'createDurableQueue', 'createNonDurableQueue', 'view', 'manage'];

let dir: string;
let broker: TestBroker;
const admin = `Basic ${Buffer.from('admin:admin-pw').toString('base64')}`;
const viewer = `Basic ${Buffer.from('viewer:viewer-pw').toString('base64')}`;

interface Sub {
  id: string;
  destination: string;
  queue?: string;
  consumerId?: number;
  durable?: boolean;
  unacked?: number;
}
interface Conn {
  id: number;
  protocol: string;
  transport: string;
  tls: boolean;
  user?: string;
  clientId?: string;
  version?: string;
  bytesIn: number;
  bytesOut: number;
  subscriptionCount: number;
  subscriptions?: Sub[];
  producers?: string[];
}

async function api<T = unknown>(p: string, init: { method?: string; auth?: string } = {}): Promise<{ status: number; body: T }> {
  const res = await fetch(`http://127.0.0.1:${broker.ports.http}/api/v1${p}`, { method: init.method ?? 'GET', headers: { authorization: init.auth ?? admin } });
  return { status: res.status, body: (await res.json()) as T };
}

async function byClientId(clientId: string): Promise<Conn> {
  const { body } = await api<{ items: Conn[] }>(`/connections?clientId=${encodeURIComponent(clientId)}`);
  assert.equal(body.items.length, 1, `one connection with client id ${clientId}`);
  return (await api<Conn>(`/connections/${body.items[0]!.id}`)).body;
}

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'connections-e2e-'));
  const usersFile = path.join(dir, 'users.json');
  const user = async (pw: string, roles: string[]) => ({ password: await hashPassword(pw, FAST), roles, certificates: [] });
  await writeUsersFile(usersFile, { users: { alice: await user('alice-pw', ['app']), admin: await user('admin-pw', ['admin']), viewer: await user('viewer-pw', ['viewer']) } });
  broker = await startBroker({
    store: { type: 'memory' },
    security: {
      usersFile,
      permissions: {
        '#': { ...Object.fromEntries(ALL.map((p) => [p, ['admin']])), view: ['admin', 'viewer'] },
        'app.>': { send: ['app'], consume: ['app'], createAddress: ['app'], createNonDurableQueue: ['app'], createDurableQueue: ['app'] },
      },
    },
  });
});
after(async () => {
  await broker?.stop();
  await rm(dir, { recursive: true, force: true });
});

test('connections of every protocol are listed with user, client id, subscriptions and growing byte counts', async (t) => {
  const stomp = await stompConnect(broker, { connectHeaders: { login: 'alice', passcode: 'alice-pw', 'client-id': 'stomp-1' } });
  t.after(() => stomp.drop());
  const inbox = await stomp.subscribe('/queue/app.s', { ack: 'client-individual', id: 'sub-s' });
  const mq = await TestMqttClient.connect(broker, { clientId: 'mqtt-1', username: 'alice', password: 'alice-pw' });
  t.after(() => mq.drop());
  await mq.subscribe('app/m/+', 1);
  const mqWs = await TestMqttClient.connect(broker, { clientId: 'mqtt-ws', username: 'alice', password: 'alice-pw', transport: 'ws' });
  t.after(() => mqWs.drop());
  const amqp = await AmqpTestClient.connect(broker.ports.amqp!, { containerId: 'amqp-1', username: 'alice', password: 'alice-pw' });
  t.after(() => amqp.close());
  await amqp.receiver('app.a', 5);
  await amqp.sender('app.b');
  let mosq: ChildProcess | undefined;
  if (existsSync(MOSQ_SUB)) {
    mosq = spawn(MOSQ_SUB, ['-h', '127.0.0.1', '-p', String(broker.ports.mqtt), '-i', 'mosq-1', '-u', 'alice', '-P', 'alice-pw', '-t', 'app/x', '-q', '1'], { stdio: 'ignore' });
    t.after(() => mosq!.kill());
  }

  const s = await byClientId('stomp-1');
  assert.deepEqual([s.protocol, s.transport, s.tls, s.user, s.version], ['stomp', 'tcp', false, 'alice', '1.2']);
  assert.equal(s.subscriptions!.length, 1);
  const ss = s.subscriptions![0]!;
  assert.deepEqual([ss.id, ss.destination, ss.queue, ss.durable, ss.unacked], ['sub-s', 'app.s', 'app.s', false, 0]);
  assert.equal(typeof ss.consumerId, 'number');

  const m = await byClientId('mqtt-1');
  assert.deepEqual([m.protocol, m.transport, m.user, m.version], ['mqtt', 'tcp', 'alice', '3.1.1']);
  assert.deepEqual(m.subscriptions!.map((x) => [x.id, x.destination]), [['app/m/+', 'app.m.*']]);
  const w = await byClientId('mqtt-ws');
  assert.deepEqual([w.protocol, w.transport, w.user], ['mqtt', 'ws', 'alice']);

  const a = await byClientId('amqp-1');
  assert.deepEqual([a.protocol, a.user, a.version], ['amqp', 'alice', '1.0']);
  assert.deepEqual(a.subscriptions!.map((x) => x.destination), ['app.a']);
  assert.deepEqual(a.producers, ['app.b']);

  if (mosq) {
    await eventually(() => broker.core.queueStats().some((q) => q.topic === 'app.x' && q.consumers > 0), 'mosquitto_sub subscribed', 10_000);
    const mo = await byClientId('mosq-1');
    assert.deepEqual([mo.protocol, mo.user, mo.subscriptionCount], ['mqtt', 'alice', 1]);
  }

  const list = await api<{ items: Conn[]; total: number }>('/connections?user=alice');
  assert.equal(list.body.total, mosq ? 5 : 4);
  assert.deepEqual(list.body.items.map((c) => c.id), [...list.body.items.map((c) => c.id)].sort((x, y) => x - y), 'sorted by id');
  assert.equal((await api<{ total: number }>('/connections?protocol=mqtt')).body.total, mosq ? 3 : 2);
  const page1 = await api<{ items: Conn[]; next?: string }>('/connections?limit=2');
  assert.equal(page1.body.items.length, 2);
  const page2 = await api<{ items: Conn[] }>(`/connections?limit=2&cursor=${page1.body.next}`);
  assert.ok(page2.body.items[0]!.id > page1.body.items[1]!.id, 'the next page follows the cursor');

  // Bytes grow as the clients talk: a publish in, a delivery out.
  const before = { s: s.bytesOut, m: m.bytesIn };
  await mq.publish('app/m/1', Buffer.alloc(2000, 1), { qos: 1 });
  await stomp.send('/queue/app.s', 'x'.repeat(1000));
  await inbox.take(1);
  const s2 = await byClientId('stomp-1');
  const m2 = await byClientId('mqtt-1');
  assert.ok(m2.bytesIn >= before.m + 2000, `MQTT bytes in grew by the publish (${before.m} -> ${m2.bytesIn})`);
  assert.ok(s2.bytesOut >= before.s + 1000, `STOMP bytes out grew by the delivery (${before.s} -> ${s2.bytesOut})`);
  assert.equal(s2.subscriptions![0]!.unacked, 1, 'the delivery is unacked');

  const consumers = await api<{ items: Array<{ connectionId: number; subscription: string; unacked: number; credit: number }> }>('/consumers?queue=app.s');
  assert.equal(consumers.body.items.length, 1);
  assert.deepEqual([consumers.body.items[0]!.connectionId, consumers.body.items[0]!.subscription, consumers.body.items[0]!.unacked], [s.id, 'sub-s', 1]);
});

test('closing a connection of each protocol uses its own close; an unacked message is redelivered', async (t) => {
  // STOMP: ERROR with the reason, then the close; the unacked message goes to the other consumer.
  const victim = await stompConnect(broker, { connectHeaders: { login: 'alice', passcode: 'alice-pw', 'client-id': 'victim' } });
  t.after(() => victim.drop());
  const vInbox = await victim.subscribe('/queue/app.red', { ack: 'client-individual' });
  await victim.send('/queue/app.red', 'held');
  await vInbox.take(1);
  const other: TestClient = await stompConnect(broker, { connectHeaders: { login: 'alice', passcode: 'alice-pw' } });
  t.after(() => other.drop());
  const oInbox = await other.subscribe('/queue/app.red', { ack: 'client-individual' });
  const v = await byClientId('victim');
  const errorFrame = victim.nextError();
  const del = await api<{ closed: boolean; protocol: string }>(`/connections/${v.id}?reason=${encodeURIComponent('maintenance window')}`, { method: 'DELETE' });
  assert.equal(del.status, 200);
  assert.deepEqual([del.body.closed, del.body.protocol], [true, 'stomp']);
  assert.equal((await errorFrame).headers.message, 'maintenance window');
  await victim.waitClosed();
  const [again] = await oInbox.take(1);
  assert.equal(again!.body, 'held');
  assert.equal(again!.headers.redelivered, 'true');

  // AMQP: close with amqp:connection:forced and the reason; its unsettled delivery goes back to the queue.
  const amqp = await AmqpTestClient.connect(broker.ports.amqp!, { containerId: 'amqp-victim', username: 'alice', password: 'alice-pw' });
  const held = await amqp.receiver('app.ared', 1);
  await other.send('/queue/app.ared', 'unsettled');
  await held.next(); // delivered, never settled
  const closed = new Promise<{ condition?: string; description?: string } | undefined>((resolve) => amqp.connection.once('connection_close', (ctx) => resolve(ctx.connection.error as never)));
  const ac = await byClientId('amqp-victim');
  assert.equal((await api(`/connections/${ac.id}?reason=rotate`, { method: 'DELETE' })).status, 200);
  const err = await closed;
  assert.deepEqual([err?.condition, err?.description], ['amqp:connection:forced', 'rotate']);
  const taker = await other.subscribe('/queue/app.ared', { ack: 'client-individual' });
  const [back] = await taker.take(1);
  assert.deepEqual([back!.body, back!.headers.redelivered], ['unsettled', 'true']);

  // MQTT over WebSocket: the socket closes and the will is published (as on any close without DISCONNECT).
  const watcher = await TestMqttClient.connect(broker, { clientId: 'will-watcher', username: 'alice', password: 'alice-pw' });
  t.after(() => watcher.drop());
  await watcher.subscribe('app/will', 1);
  const mq = await TestMqttClient.connect(broker, { clientId: 'mqtt-victim', username: 'alice', password: 'alice-pw', transport: 'ws', will: { topic: 'app/will', payload: Buffer.from('gone'), qos: 1, retain: false } });
  const mqClosed = new Promise<void>((resolve) => mq.client.once('close', () => resolve()));
  const mc = await byClientId('mqtt-victim');
  assert.equal(mc.transport, 'ws');
  assert.equal((await api(`/connections/${mc.id}`, { method: 'DELETE' })).status, 200);
  await mqClosed;
  const [will] = await watcher.count(1);
  assert.deepEqual([will!.topic, will!.payload.toString()], ['app/will', 'gone']);
  assert.equal((await api<{ total: number }>('/connections?clientId=mqtt-victim')).body.total, 0);

  // Unknown ids, and a caller who may only view.
  assert.equal((await api('/connections/999999', { method: 'DELETE' })).status, 404);
  assert.equal((await api('/connections/999999')).status, 404);
  const w = await byClientId('will-watcher');
  assert.equal((await api('/connections', { auth: viewer })).status, 200);
  assert.equal((await api(`/connections/${w.id}`, { method: 'DELETE', auth: viewer })).status, 403);
  assert.equal((await byClientId('will-watcher')).id, w.id, 'still open');
});
