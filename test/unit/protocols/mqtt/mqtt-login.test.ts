import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import pino from 'pino';
import type { Authenticator, Authorizer, LoginRequest, LoginResult, Permission, Subject } from '../../../../src/core/ports/security.ts';
import { MqttProtocol } from '../../../../src/protocols/mqtt/mqtt-protocol.ts';
import { returnCodeOf } from '../../../../src/protocols/mqtt/mqtt-login.ts';
import { TcpServer } from '../../../../src/transport/tcp-server.ts';
import { MemoryStore } from '../../../../src/store/memory-store.ts';
import type { Store } from '../../../../src/core/ports/store.ts';
import { captureLog, type LogCapture } from '../../../helpers/log-capture.ts';
import { connectPacket, DISCONNECT, parsePublish, publishPacket, pubrel, RawMqtt, subscribeManyPacket, subscribePacket, unsubscribePacket, type ConnectOptions } from '../../../helpers/raw-mqtt.ts';
import { closeCores, openCore } from '../../core/core-fixture.ts';

// The MQTT adapter's side of issue 14, against the security ports (an Authenticator and an Authorizer
// written here, so each refusal and each permission is chosen by the test): CONNACK return codes,
// the login held for the connection's life, the subject on every core call, SUBACK 0x80 per filter,
// a denied PUBLISH dropped and acknowledged, a session's owner, a denied will. With real users files
// and real clients: test/e2e/mqtt-security.test.ts.

const PASSWORDS = new Map([['alice', 'secret'], ['bob', 'bobpw'], ['limited', 'x'], ['rule', 'x'], ['keeper', 'x']]);

/** Logins: the users above; `limited` is over its connection limit; `rule` may use client ids starting with `rule` only; `slow` never answers. */
class TestAuthenticator implements Authenticator {
  readonly enabled = true;
  anonymousAllowed = false;
  open = 0;

  login(req: LoginRequest): Promise<LoginResult> {
    if (req.user === 'slow') return new Promise(() => {});
    if (req.user === undefined && this.anonymousAllowed) return Promise.resolve(this.ok({ user: undefined, roles: new Set(['guest']) }));
    if (req.user === undefined || PASSWORDS.get(req.user) !== req.password) return Promise.resolve({ ok: false, reason: 'credentials', message: 'bad' });
    if (req.user === 'limited') return Promise.resolve({ ok: false, reason: 'limit', message: 'too many' });
    if (req.user === 'rule' && !req.clientId?.startsWith('rule')) return Promise.resolve({ ok: false, reason: 'not-authorized', message: 'client id' });
    return Promise.resolve(this.ok({ user: req.user, roles: new Set([req.user]) }));
  }

  private ok(subject: Subject): LoginResult {
    this.open++;
    let closed = false;
    return { ok: true, session: { subject, close: () => (closed ? undefined : ((closed = true), this.open--)) } };
  }
}

/** alice: everything but `send` under `ro.` and `consume` under `secret.`; bob: everything; keeper: everything but `deleteDurableQueue`; anonymous (guest): everything but consuming `test.nosubscribe`. */
class TestAuthorizer implements Authorizer {
  readonly denials: string[] = [];
  calls = 0;

  allowed(s: Subject, address: string, p: Permission): boolean {
    this.calls++;
    if (s.user === 'bob') return true;
    if (s.user === 'keeper') return p !== 'deleteDurableQueue';
    if (s.user === 'alice') return !(p === 'send' && address.startsWith('ro.')) && !(p === 'consume' && address.startsWith('secret.'));
    return s.roles.has('guest') && !(p === 'consume' && address === 'test.nosubscribe');
  }

  denied(s: Subject, address: string, p: Permission): void {
    this.denials.push(`${s.user ?? '-'} ${p} ${address}`);
  }
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  await closeCores();
});

interface Started {
  port: number;
  auth: TestAuthenticator;
  authz: TestAuthorizer;
  mqtt: MqttProtocol;
  log: LogCapture;
  stop(): Promise<void>;
}

async function start(opts: { store?: Store; secured?: boolean; connectTimeout?: number } = {}): Promise<Started> {
  const auth = new TestAuthenticator();
  const authz = new TestAuthorizer();
  const log = captureLog('debug');
  const secured = opts.secured ?? true;
  const core = await openCore({ ...(opts.store ? { store: opts.store } : {}), ...(secured ? { authorizer: authz } : {}) });
  const cfg = { maxPacketSize: 1 << 20, maxInflight: 10, qos0Window: 10, connectTimeout: opts.connectTimeout ?? 5000, keepaliveLimit: 0, maxSubscriptionsPerSession: 100 };
  const mqtt = await MqttProtocol.create(core, cfg, log.logger, secured ? auth : undefined);
  const tcp = new TcpServer(mqtt);
  const port = await tcp.listen(0, '127.0.0.1');
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await mqtt.close();
    await tcp.close();
    await core.close();
  };
  cleanups.push(stop);
  return { port, auth, authz, mqtt, log, stop };
}

/** CONNECT and the CONNACK's return code; the connection is closed after a refusal. */
async function connack(port: number, o: ConnectOptions): Promise<{ code: number; present: number; raw: RawMqtt }> {
  const raw = await RawMqtt.connect(port);
  cleanups.push(async () => raw.close());
  raw.send(connectPacket(o));
  const ack = await raw.next();
  assert.equal(ack.type, 2);
  return { code: ack.body[1]!, present: ack.body[0]!, raw };
}

async function session(port: number, o: ConnectOptions): Promise<RawMqtt> {
  const r = await connack(port, o);
  assert.equal(r.code, 0, `CONNACK for ${o.clientId}`);
  return r.raw;
}

/** The next PUBLISH's topic and payload (skipping acknowledgements). */
async function nextPublish(raw: RawMqtt): Promise<string> {
  for (;;) {
    const p = await raw.next();
    if (p.type === 3) {
      const m = parsePublish(p);
      return `${m.topic} ${m.payload.toString()}`;
    }
  }
}

test('CONNACK return codes: 0 accepted, 4 bad user name or password, 5 anonymous or not authorized or over a limit; each refusal then closed', async () => {
  const { port, log } = await start();
  const cases: Array<[ConnectOptions, number]> = [
    [{ clientId: 'c1', username: 'alice', password: 'secret' }, 0],
    [{ clientId: 'c2', username: 'alice', password: 'wrong' }, 4],
    [{ clientId: 'c3', username: 'nobody', password: 'x' }, 4],
    [{ clientId: 'c4', username: 'alice' }, 4],
    [{ clientId: 'c5' }, 5],
    [{ clientId: 'c6', username: 'limited', password: 'x' }, 5],
    [{ clientId: 'other', username: 'rule', password: 'x' }, 5],
    [{ clientId: 'rule-1', username: 'rule', password: 'x' }, 0],
  ];
  for (const [o, want] of cases) {
    const { code, raw } = await connack(port, o);
    assert.equal(code, want, JSON.stringify(o));
    if (want !== 0) await raw.waitClosed();
    else raw.send(DISCONNECT);
  }
  // A storm of bad CONNECTs must not flood the log: each refusal at debug (the audit log has them).
  await log.waitFor((l) => l.msg === 'mqtt CONNECT refused' && l.returnCode === 5 && l.clientId === 'other', 'the last refusal');
  assert.deepEqual(log.lines.filter((l) => (l.level as number) >= 40).map((l) => l.msg), []);
});

test('the refusal reasons map as Mosquitto and MQTT 3.1.1 section 3.2.2.3 say', () => {
  assert.equal(returnCodeOf('credentials', 'u'), 4);
  assert.equal(returnCodeOf('throttled', 'u'), 4);
  assert.equal(returnCodeOf('credentials', undefined), 5);
  assert.equal(returnCodeOf('not-authorized', 'u'), 5);
  assert.equal(returnCodeOf('limit', 'u'), 5);
});

test('a login that does not answer within the CONNECT timeout: CONNACK 0x03 (server unavailable), closed', async () => {
  const { port } = await start({ connectTimeout: 300 });
  const { code, raw } = await connack(port, { clientId: 'slow', username: 'slow', password: 'x' });
  assert.equal(code, 3);
  await raw.waitClosed();
});

test('the login is held while the connection lives and released when it closes, by DISCONNECT or by a dropped socket', async () => {
  const { port, auth, mqtt, log } = await start();
  const a = await session(port, { clientId: 'held-a', username: 'alice', password: 'secret' });
  const b = await session(port, { clientId: 'held-b', username: 'bob', password: 'bobpw' });
  assert.equal(auth.open, 2);
  a.send(DISCONNECT);
  b.socket.destroy();
  await a.waitClosed();
  await b.waitClosed();
  while (mqtt.connections > 0) await new Promise((r) => setImmediate(r));
  assert.equal(auth.open, 0);
  assert.ok(!log.lines.some((l) => JSON.stringify(l).includes('secret')), 'no password in the log');
});

test('security off (no authenticator): any user name and password is accepted, as before issue 14', async () => {
  const { port } = await start({ secured: false });
  const { code } = await connack(port, { clientId: 'off', username: 'nobody', password: 'wrong' });
  assert.equal(code, 0);
});

test('a denied PUBLISH at QoS 0, 1 and 2 is acknowledged as usual, delivered to nobody, logged; the connection stays', async () => {
  const { port, authz, log } = await start();
  const watcher = await session(port, { clientId: 'watch', username: 'bob', password: 'bobpw' });
  watcher.send(subscribePacket(1, '#', 0));
  assert.deepEqual([...(await watcher.next()).body], [0, 1, 0]);
  const a = await session(port, { clientId: 'pub', username: 'alice', password: 'secret' });
  a.send(publishPacket('ro/x', 'denied0', { qos: 0 }));
  a.send(publishPacket('ro/x', 'denied1', { qos: 1, id: 1 }));
  const puback = await a.next();
  assert.deepEqual([puback.type, ...puback.body], [4, 0, 1]);
  a.send(publishPacket('ro/x', 'denied2', { qos: 2, id: 2 }));
  const pubrec = await a.next();
  assert.deepEqual([pubrec.type, ...pubrec.body], [5, 0, 2]);
  a.send(pubrel(2));
  const pubcomp = await a.next();
  assert.deepEqual([pubcomp.type, ...pubcomp.body], [7, 0, 2]);
  a.send(publishPacket('ok/x', 'allowed', { qos: 1, id: 3 }));
  assert.equal((await a.next()).type, 4);
  // Deliveries of one topic space come in order: had a denied one been routed, it would come first.
  assert.equal(await nextPublish(watcher), 'ok/x allowed');
  assert.equal(a.closed, false);
  assert.deepEqual(authz.denials, ['alice send ro.x', 'alice send ro.x', 'alice send ro.x']);
  // Logged at debug (the audit log has each denial, rate-limited): a client looping on it floods nothing.
  await log.waitFor((l) => l.msg === 'mqtt PUBLISH denied: dropped' && l.level === 20 && l.user === 'alice', 'the denial at debug');
  assert.deepEqual(log.lines.filter((l) => (l.level as number) >= 40).map((l) => l.msg), []);
});

test('SUBSCRIBE: SUBACK 0x80 for each denied filter (a wildcard filter is checked as an address), the others granted and working', async () => {
  const { port } = await start();
  const a = await session(port, { clientId: 'subber', username: 'alice', password: 'secret' });
  a.send(subscribeManyPacket(5, ['ok/a', 'secret/x', 'secret/#', 'ok/+', '+/x'], 1));
  const suback = await a.next();
  assert.equal(suback.type, 9);
  // `+/x` is the address `*.x`, which no pattern under `secret.` matches: granted by alice's grant on
  // everything (Artemis's rule: the filter is checked as an address, not each topic it may match).
  assert.deepEqual([...suback.body.subarray(2)], [1, 0x80, 0x80, 1, 1]);
  a.send(publishPacket('ok/a', 'hello', { qos: 0 }));
  // One copy per matching subscription (`ok/a` and `ok/+`): the denied ones were never made.
  assert.deepEqual([await nextPublish(a), await nextPublish(a)], ['ok/a hello', 'ok/a hello']);

});

test('anonymous granted a role: test/nosubscribe refused (SUBACK 0x80), everything else allowed (the Paho suite\'s rule)', async () => {
  const { port, auth } = await start();
  auth.anonymousAllowed = true;
  const g = await session(port, { clientId: 'paho-like' });
  g.send(subscribeManyPacket(2, ['test/nosubscribe', 'test/ok'], 2));
  assert.deepEqual([...(await g.next()).body.subarray(2)], [0x80, 2]);
  g.send(publishPacket('test/nosubscribe', 'may send', { qos: 1, id: 1 }));
  assert.equal((await g.next()).type, 4);
});

test('a persistent session belongs to its user: another user neither resumes nor cleans it, also after a restart; its user resumes it', async () => {
  const store = new MemoryStore();
  const s1 = await start({ store });
  const a = await session(s1.port, { clientId: 'owned', clean: false, username: 'alice', password: 'secret' });
  a.send(subscribePacket(1, 'ok/owned', 1));
  assert.equal((await a.next()).type, 9);
  a.send(DISCONNECT);
  await a.waitClosed();
  for (const clean of [false, true]) {
    const { code, raw } = await connack(s1.port, { clientId: 'owned', clean, username: 'bob', password: 'bobpw' });
    assert.equal(code, 5, `bob with clean=${clean}`);
    await raw.waitClosed();
  }
  await s1.stop();
  const s2 = await start({ store });
  const { code } = await connack(s2.port, { clientId: 'owned', clean: false, username: 'bob', password: 'bobpw' });
  assert.equal(code, 5, 'the owner was stored with the session');
  const pub = await session(s2.port, { clientId: 'pub2', username: 'bob', password: 'bobpw' });
  pub.send(publishPacket('ok/owned', 'kept for alice', { qos: 1, id: 1 }));
  assert.equal((await pub.next()).type, 4);
  const back = await connack(s2.port, { clientId: 'owned', clean: false, username: 'alice', password: 'secret' });
  assert.deepEqual([back.code, back.present], [0, 1]);
  assert.equal(await nextPublish(back.raw), 'ok/owned kept for alice');
});

test('a live connection is not taken over by another user (CONNACK 0x05, the first stays); by its own user it is, as [MQTT-3.1.4-2]', async () => {
  const { port } = await start();
  const a = await session(port, { clientId: 'live', username: 'alice', password: 'secret' });
  const { code, raw } = await connack(port, { clientId: 'live', username: 'bob', password: 'bobpw' });
  assert.equal(code, 5);
  await raw.waitClosed();
  a.send(subscribePacket(1, 'ok/still', 0));
  assert.equal((await a.next()).type, 9, 'the first connection still answers');
  await session(port, { clientId: 'live', username: 'alice', password: 'secret' });
  await a.waitClosed();
});

test('a will is published under its connection\'s subject: a denied one is dropped and logged, an allowed one delivered', async () => {
  const { port, log } = await start();
  const watcher = await session(port, { clientId: 'will-watch', username: 'bob', password: 'bobpw' });
  watcher.send(subscribeManyPacket(1, ['ro/#', 'ok/#'], 0));
  assert.equal((await watcher.next()).type, 9);
  const denied = await session(port, { clientId: 'will-1', username: 'alice', password: 'secret', will: { topic: 'ro/will', payload: 'no', qos: 1 } });
  denied.socket.destroy();
  await log.waitFor((l) => typeof l.reason === 'string' && l.reason.includes('send on ro.will'), 'the denied will logged', 10_000);
  const allowed = await session(port, { clientId: 'will-2', username: 'alice', password: 'secret', will: { topic: 'ok/will', payload: 'yes', qos: 1 } });
  allowed.socket.destroy();
  assert.equal(await nextPublish(watcher), 'ok/will yes');
});

test('ending a persistent session or one of its subscriptions needs deleteDurableQueue: without it a clean CONNECT is closed without CONNACK (the session stays), an UNSUBSCRIBE without UNSUBACK', async () => {
  const { port } = await start();
  const k = await session(port, { clientId: 'kept', clean: false, username: 'keeper', password: 'x' });
  k.send(subscribePacket(1, 'k/t', 1));
  assert.equal((await k.next()).type, 9);
  k.send(DISCONNECT);
  await k.waitClosed();
  const raw = await RawMqtt.connect(port);
  raw.send(connectPacket({ clientId: 'kept', clean: true, username: 'keeper', password: 'x' }));
  await raw.waitClosed();
  assert.equal(raw.packets.length, 0, 'no CONNACK');
  const back = await connack(port, { clientId: 'kept', clean: false, username: 'keeper', password: 'x' });
  assert.deepEqual([back.code, back.present], [0, 1]);
  // UNSUBSCRIBE deletes the durable subscription: refused the same way, closed without UNSUBACK.
  back.raw.send(unsubscribePacket(2, ['k/t']));
  await back.raw.waitClosed();
  assert.deepEqual(back.raw.packets.map((p) => p.type), [], 'no UNSUBACK');
});

test('a PUBLISH costs one authorizer call (the core\'s send check) and nothing else of the adapter', async () => {
  const { port, authz } = await start();
  const a = await session(port, { clientId: 'counted', username: 'alice', password: 'secret' });
  a.send(publishPacket('ok/counted', 'first: creates the topic', { qos: 1, id: 1 }));
  assert.equal((await a.next()).type, 4);
  authz.calls = 0;
  for (let i = 0; i < 10; i++) a.send(publishPacket('ok/counted', `m${i}`, { qos: i % 2 === 0 ? 0 : 1, id: 2 + i }));
  a.send(publishPacket('ok/counted', 'last', { qos: 1, id: 100 }));
  let acks = 0;
  while (acks < 6) if ((await a.next()).type === 4) acks++;
  assert.equal(authz.calls, 11);
});
