import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { test, type TestContext } from 'node:test';
import mqtt from 'mqtt';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { captureLog, type LogCapture, type LogLine } from '../helpers/log-capture.ts';
import { listening } from '../helpers/ports.ts';
import { connectFor, eventually } from '../helpers/stompjs.ts';

/*
 * A route whose remote endpoint is down (issue 12, item 12). The remote is a port nothing listens
 * on (bound, then closed); later a real broker is started on it: a second Junction for amqp://,
 * Debian's mosquitto for mqtt://. The exchange bound for the remote fails after `sendTimeout`,
 * is redelivered, and reaches the dead-letter channel; an exchange of the same route that goes to
 * a local queue is delivered meanwhile; the log has one line when the remote goes down and one
 * when it is back.
 */

/** A loopback port nothing listens on: bound, then closed. */
function deadPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

const REDELIVERIES = 2;

/** The route under test: remote readings to `remote`, the others to a local queue; a dead-letter channel. */
async function deployRoute(broker: TestBroker, id: string, remote: string, maxInflight = 10, sendTimeout?: number): Promise<void> {
  await broker.routes.deploy({
    id,
    from: `queue:${id}.in`,
    maxInflight,
    ...(sendTimeout !== undefined ? { sendTimeout } : {}),
    errorHandler: { deadLetter: `queue:${id}.DLQ`, maxRedeliveries: REDELIVERIES, redeliveryDelay: 50, backoffMultiplier: 2 },
    steps: [{ choice: { when: [{ if: { '==': [{ var: 'body.remote' }, true] }, steps: [{ to: remote }] }], otherwise: [{ to: `queue:${id}.local` }] } }],
  });
}

const isDown = (l: LogLine) => l.msg === 'remote endpoint down';
const isBack = (l: LogLine) => l.msg === 'remote endpoint back';

/** Sends one remote and one local reading; checks the local one passes while the remote one is pending, then the remote one's dead letter. */
async function checkDeadLettered(t: TestContext, broker: TestBroker, id: string, log: LogCapture, endpoint: string): Promise<void> {
  const stomp = await connectFor(t, broker);
  const local = await stomp.subscribe(`/queue/${id}.local`);
  const dlq = await stomp.subscribe(`/queue/${id}.DLQ`);
  await stomp.send(`/queue/${id}.in`, JSON.stringify({ remote: true, n: 1 }), { 'content-type': 'application/json' });
  await stomp.send(`/queue/${id}.in`, JSON.stringify({ remote: false, n: 2 }), { 'content-type': 'application/json' });
  // 1. The local exchange is delivered while the remote one is still waiting for its endpoint.
  const l = await local.one();
  assert.deepEqual(JSON.parse(l.body), { remote: false, n: 2 });
  assert.equal(broker.routes.stats(id).deadLettered, 0, 'the remote exchange is still being tried');
  // 2. The remote exchange fails after its send timeout, is redelivered, and is dead-lettered.
  const d = await dlq.one(30_000);
  assert.deepEqual(JSON.parse(d.body), { remote: true, n: 1 });
  assert.equal(d.headers.junctionRouteAttempts, String(REDELIVERIES + 1));
  assert.match(d.headers.junctionRouteError!, /sendTimeout|no outcome|not connected/);
  const stats = broker.routes.stats(id);
  assert.equal(stats.redeliveries, REDELIVERIES);
  assert.equal(stats.deadLettered, 1);
  assert.equal(stats.completed, 2);
  // 3. One line when it went down, with the reason and no stack.
  const down = await log.waitFor((x) => isDown(x) && x.endpoint === endpoint, 'remote endpoint down');
  assert.equal(down.err, undefined, 'an expected condition is logged without a stack');
  assert.equal(typeof down.reason, 'string');
}

function assertLoggedOnce(log: LogCapture, endpoint: string): void {
  assert.equal(log.lines.filter((x) => isDown(x) && x.endpoint === endpoint).length, 1, 'one "down" line');
  assert.equal(log.lines.filter((x) => isBack(x) && x.endpoint === endpoint).length, 1, 'one "back" line');
  assert.equal(log.lines.filter((x) => typeof x.msg === 'string' && /disconnected|producer error/.test(x.msg)).length, 0, 'no line per reconnect attempt');
}

test('amqp:// endpoint down: sendTimeout, redeliveries, dead-letter channel, other exchanges flow, down and back logged once', { timeout: 90_000 }, async (t) => {
  const log = captureLog('info');
  const broker = await startBroker({ store: { type: 'memory' } }, { logger: log.logger });
  t.after(() => broker.stop());
  const port = await deadPort();
  const endpoint = `amqp://127.0.0.1:${port}/remote.x`;
  await deployRoute(broker, 'amqp-down', `${endpoint}?sendTimeout=300`);
  // A source on the same dead remote: its reconnecting is logged the same way.
  const source = `amqp://127.0.0.1:${port}/remote.src`;
  await broker.routes.deploy({ id: 'amqp-src', from: source, steps: [{ to: 'queue:amqp-src.out' }] });
  await checkDeadLettered(t, broker, 'amqp-down', log, endpoint);
  await log.waitFor((x) => isDown(x) && x.endpoint === source && x.role === 'from', 'source down');

  // The remote comes up: a second Junction on that port. The endpoint reconnects, says so once, and delivers.
  const remote = await startBroker({ store: { type: 'memory' }, ports: { amqp: port } });
  t.after(() => remote.stop());
  await log.waitFor((x) => isBack(x) && x.endpoint === endpoint, 'remote endpoint back');
  const remoteStomp = await connectFor(t, remote);
  const inbox = await remoteStomp.subscribe('/queue/remote.x');
  const stomp = await connectFor(t, broker);
  await stomp.send('/queue/amqp-down.in', JSON.stringify({ remote: true, n: 3 }), { 'content-type': 'application/json' });
  assert.deepEqual(JSON.parse((await inbox.one(10_000)).body), { remote: true, n: 3 });
  await eventually(() => assert.equal(broker.routes.stats('amqp-down').completed, 3));
  await log.waitFor((x) => isBack(x) && x.endpoint === source, 'source back');
  assertLoggedOnce(log, endpoint);
  assertLoggedOnce(log, source);
  await broker.routes.undeploy('amqp-down');
  await broker.routes.undeploy('amqp-src');
});

test('mqtt:// endpoint down: sendTimeout, redeliveries, dead-letter channel, other exchanges flow, down and back logged once', { timeout: 90_000 }, async (t) => {
  const log = captureLog('info');
  const broker = await startBroker({ store: { type: 'memory' } }, { logger: log.logger });
  t.after(() => broker.stop());
  const port = await deadPort();
  const endpoint = `mqtt://127.0.0.1:${port}/remote/x`;
  // The route's sendTimeout this time (the AMQP test gives the URI's).
  await deployRoute(broker, 'mqtt-down', `${endpoint}?reconnectPeriod=200`, 10, 300);
  await checkDeadLettered(t, broker, 'mqtt-down', log, endpoint);

  // The remote comes up: mosquitto on that port.
  const mosquitto: ChildProcess = spawn('/usr/sbin/mosquitto', ['-p', String(port)], { stdio: 'ignore' });
  t.after(() => mosquitto.kill('SIGKILL'));
  assert.ok(await listening(port), 'mosquitto did not start listening');
  await log.waitFor((x) => isBack(x) && x.endpoint === endpoint, 'remote endpoint back');
  const sub = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0 });
  t.after(() => sub.endAsync());
  const got = new Promise<string>((resolve) => sub.on('message', (_topic, payload) => resolve(payload.toString())));
  await sub.subscribeAsync('remote/x', { qos: 1 });
  const stomp = await connectFor(t, broker);
  await stomp.send('/queue/mqtt-down.in', JSON.stringify({ remote: true, n: 3 }), { 'content-type': 'application/json' });
  assert.deepEqual(JSON.parse(await got), { remote: true, n: 3 });
  await eventually(() => assert.equal(broker.routes.stats('mqtt-down').completed, 3));
  assertLoggedOnce(log, endpoint);
  await broker.routes.undeploy('mqtt-down');
});

test('amqp:// endpoint down with every credit taken by exchanges for it: they fail in turn, and the local exchange behind them gets through', { timeout: 90_000 }, async (t) => {
  // Before sendTimeout each exchange for the dead remote held its credit for ever: once
  // maxInflight of them had come, nothing more of the route moved.
  const log = captureLog('info');
  const broker = await startBroker({ store: { type: 'memory' } }, { logger: log.logger });
  t.after(() => broker.stop());
  const port = await deadPort();
  await deployRoute(broker, 'amqp-full', `amqp://127.0.0.1:${port}/remote.x?sendTimeout=200`, 2);
  const stomp = await connectFor(t, broker);
  const local = await stomp.subscribe('/queue/amqp-full.local');
  const dlq = await stomp.subscribe('/queue/amqp-full.DLQ');
  for (const n of [1, 2]) await stomp.send('/queue/amqp-full.in', JSON.stringify({ remote: true, n }), { 'content-type': 'application/json' });
  await stomp.send('/queue/amqp-full.in', JSON.stringify({ remote: false, n: 3 }), { 'content-type': 'application/json' });
  assert.deepEqual(JSON.parse((await local.one(30_000)).body), { remote: false, n: 3 });
  const dead = await dlq.take(2, 30_000);
  assert.deepEqual(dead.map((m) => JSON.parse(m.body).n).sort(), [1, 2]);
  await eventually(() => assert.equal(broker.routes.stats('amqp-full').completed, 3));
  await broker.routes.undeploy('amqp-full');
});

test('amqp:// remote that refuses the link (detach with an error): logged once, sends dead-lettered, the broker lives on', { timeout: 90_000 }, async (t) => {
  // rhea emits an unhandled link error as an EventEmitter 'error' on its container: an uncaught
  // exception that ended the whole broker.
  const log = captureLog('info');
  const broker = await startBroker({ store: { type: 'memory' } }, { logger: log.logger });
  t.after(() => broker.stop());
  const remote = await startBroker({ store: { type: 'memory' } });
  t.after(() => remote.stop());
  // `$tmp.*` is reserved on the remote Junction: a link to one that does not exist is refused with amqp:not-found.
  const endpoint = `amqp://127.0.0.1:${remote.ports.amqp}/$tmp.nope`;
  await deployRoute(broker, 'amqp-refused', `${endpoint}?sendTimeout=200`);
  await broker.routes.deploy({ id: 'amqp-refused-src', from: `${endpoint}`, steps: [{ to: 'queue:never' }] });
  await checkDeadLettered(t, broker, 'amqp-refused', log, endpoint);
  const down = log.lines.filter((x) => isDown(x) && x.endpoint === endpoint);
  assert.deepEqual(down.map((x) => x.role).sort(), ['from', 'to'], 'one line for the source, one for the producer');
  for (const d of down) assert.match(String(d.reason), /amqp:not-found/);
  assert.equal(broker.routes.stats('amqp-refused-src').inFlight, 0);
  await broker.routes.undeploy('amqp-refused');
  await broker.routes.undeploy('amqp-refused-src');
});

test('amqp:// source whose remote restarts: down once, back once, and it consumes again (credit given back to the re-attached link)', { timeout: 90_000 }, async (t) => {
  const log = captureLog('info');
  const broker = await startBroker({ store: { type: 'memory' } }, { logger: log.logger });
  t.after(() => broker.stop());
  let remote = await startBroker({ store: { type: 'memory' } });
  const port = remote.ports.amqp!;
  t.after(() => remote.stop());
  const source = `amqp://127.0.0.1:${port}/feed`;
  await broker.routes.deploy({ id: 'amqp-restart', from: source, steps: [{ to: 'queue:feed.out' }] });
  const stomp = await connectFor(t, broker);
  const out = await stomp.subscribe('/queue/feed.out');
  const feed = async (body: string) => {
    const c = await connectFor(t, remote);
    await c.send('/queue/feed', body);
  };
  await feed('one');
  assert.equal((await out.one(10_000)).body, 'one');
  // 1. The remote goes away: one line.
  await remote.stop();
  await log.waitFor((x) => isDown(x) && x.endpoint === source, 'source down');
  // 2. It comes back on the same port: one line, and the route consumes again.
  remote = await startBroker({ store: { type: 'memory' }, ports: { amqp: port } });
  await log.waitFor((x) => isBack(x) && x.endpoint === source, 'source back');
  await feed('two');
  assert.equal((await out.one(10_000)).body, 'two');
  assertLoggedOnce(log, source);
  await broker.routes.undeploy('amqp-restart');
});
