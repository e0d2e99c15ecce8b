import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import pino from 'pino';
import { Core, type SendOptions } from '../../../../src/core/core.ts';
import type { ConsumerSpec } from '../../../../src/core/subscriptions.ts';
import type { Authenticator, LoginRequest, LoginResult, PeerCertificate, Subject } from '../../../../src/core/ports/security.ts';
import { JunctionError } from '../../../../src/errors.ts';
import { StompSession } from '../../../../src/protocols/stomp/stomp-session.ts';
import { stompConfigSchema } from '../../../../src/protocols/stomp/stomp-config.ts';
import type { TransportConnection } from '../../../../src/transport/connection.ts';
import { ReadBudget } from '../../../../src/transport/read-budget.ts';
import { MemoryStore } from '../../../../src/store/memory-store.ts';

// The STOMP session's side of issue 14 on a fake connection: what CONNECT hands the Authenticator,
// frames that wait for the login, the ERROR of a refused login, and a denial (ERR_SECURITY_UNAUTHORIZED
// from the core) answered with ERROR while the connection stays open, as ActiveMQ Classic 5.17 does.
// The core here is a real one whose send/createConsumer refuse `denied.*` the way core-authz does;
// test/e2e/stomp-security.test.ts checks the same over sockets with the real users file and permissions.

const silent = pino({ level: 'silent' });

interface Frame {
  command: string;
  headers: Record<string, string>;
  body: string;
}

/** A transport that records frames written and whether the session ended it. */
class FakeConnection implements TransportConnection {
  readonly id = 7;
  readonly kind = 'tcp' as const;
  readonly remoteAddress = '::ffff:10.1.2.3';
  readonly connectedAt = 0;
  readonly bytesIn = 0;
  readonly bytesOut = 0;
  readonly tls: { peerCertificate?: PeerCertificate } | undefined;
  congested = false;
  ended = false;
  /** Whether the session stopped reading (backpressure). */
  paused = false;
  private out = '';
  private dataCb: ((b: Buffer) => void) | undefined;
  private closeCbs: Array<(err?: Error) => void> = [];
  constructor(tls?: { peerCertificate?: PeerCertificate }) {
    this.tls = tls;
  }
  write(data: Buffer): boolean {
    this.out += data.toString('utf8');
    return true;
  }
  onData(cb: (chunk: Buffer) => void): void {
    this.dataCb = cb;
  }
  onDrain(): void {}
  onClose(cb: (err?: Error) => void): void {
    this.closeCbs.push(cb);
  }
  pause(): void {
    this.paused = true;
  }
  resume(): void {
    this.paused = false;
  }
  end(): void {
    this.close();
  }
  destroy(): void {
    this.close();
  }
  close(): void {
    if (this.ended) return;
    this.ended = true;
    for (const cb of this.closeCbs) cb();
  }
  /** Sends frames from the client, all in one chunk. */
  send(...frames: Array<[string, Record<string, string>, string?]>): void {
    const wire = frames.map(([cmd, h, body]) => `${cmd}\n${Object.entries(h).map(([k, v]) => `${k}:${v}\n`).join('')}\n${body ?? ''}\0`).join('');
    this.dataCb!(Buffer.from(wire));
  }
  /** Every frame written so far (heart-beat EOLs skipped). */
  frames(): Frame[] {
    return this.out.split('\0').map((f) => f.replace(/^\n+/, '')).filter((f) => f !== '').map((f) => {
      const [head, ...rest] = f.split('\n\n');
      const [command, ...lines] = head!.split('\n');
      const headers: Record<string, string> = {};
      for (const l of lines) headers[l.slice(0, l.indexOf(':'))] ??= l.slice(l.indexOf(':') + 1);
      return { command: command!, headers, body: rest.join('\n\n') };
    });
  }
  /** Resolves once `n` frames are written. */
  async waitFrames(n: number): Promise<Frame[]> {
    const deadline = Date.now() + 5000;
    while (this.frames().length < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    const got = this.frames();
    assert.ok(got.length >= n, `expected ${n} frames, got ${JSON.stringify(got)}`);
    return got;
  }
}

/** An authenticator whose logins the test answers. */
class FakeAuth implements Authenticator {
  readonly enabled = true;
  readonly anonymousAllowed = false;
  readonly requests: LoginRequest[] = [];
  closed = 0;
  private answers: Array<(r: LoginResult) => void> = [];
  login(req: LoginRequest): Promise<LoginResult> {
    this.requests.push(req);
    return new Promise((resolve) => this.answers.push(resolve));
  }
  accept(subject: Subject): void {
    this.answers.shift()!({ ok: true, session: { subject, close: () => this.closed++ } });
  }
  refuse(reason: 'credentials' | 'throttled' | 'limit', message: string): void {
    this.answers.shift()!({ ok: false, reason, message });
  }
}

const cores: Core[] = [];
afterEach(async () => {
  for (const c of cores.splice(0)) await c.close();
});

/** A core that refuses `denied.*` as the core's authorizer would, and records the options of every send. */
async function gatedCore(): Promise<{ core: Core; sends: SendOptions[] }> {
  const core = await Core.open({ store: new MemoryStore(), log: silent });
  cores.push(core);
  const sends: SendOptions[] = [];
  const gated = Object.create(core) as Core;
  const deny = (name: string, perm: string) => new JunctionError('ERR_SECURITY_UNAUTHORIZED', `User may not ${perm} ${name}`);
  gated.send = (input, opts = {}) => {
    sends.push(opts);
    return input.destination.name.startsWith('denied.') ? Promise.reject(deny(input.destination.name, 'send')) : core.send(input, opts);
  };
  gated.createConsumer = (spec: ConsumerSpec) =>
    spec.destination.name.startsWith('denied.') ? Promise.reject(deny(spec.destination.name, 'consume')) : core.createConsumer(spec);
  gated.browser = (name, origin, selector) => {
    if (name.startsWith('denied.')) throw deny(name, 'browse');
    return core.browser(name, origin, selector);
  };
  return { core: gated, sends };
}

const ALICE: Subject = Object.freeze({ user: 'alice', roles: new Set(['users']), clientId: 'c1' });

async function session(opts: { connectTimeout?: number; tls?: { peerCertificate?: PeerCertificate } } = {}) {
  const { core, sends } = await gatedCore();
  const conn = new FakeConnection(opts.tls);
  const auth = new FakeAuth();
  const cfg = { ...stompConfigSchema.parse({ heartBeat: [0, 0], connectTimeout: opts.connectTimeout ?? 10_000 }), serverName: 'test' };
  new StompSession(conn, core, auth, cfg, silent, new ReadBudget(64 * 1024 * 1024));
  return { core, sends, conn, auth };
}

describe('StompSession login and denials', () => {
  test('CONNECT hands login, passcode, client-id, address and certificate to the authenticator; frames after it wait for the answer', async () => {
    const cert: PeerCertificate = { subject: 'CN=device1', subjectAltNames: [], fingerprint256: 'AA' };
    const { conn, auth, sends, core } = await session({ tls: { peerCertificate: cert } });
    conn.send(
      ['CONNECT', { 'accept-version': '1.2', host: 'x', login: 'alice', passcode: 's3cret', 'client-id': 'c1' }],
      ['SEND', { destination: '/queue/orders', receipt: 'r1' }, 'hello'],
    );
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(auth.requests, [{ protocol: 'stomp', remoteAddress: '10.1.2.3', user: 'alice', password: 's3cret', certificate: cert, clientId: 'c1' }]);
    assert.deepEqual(conn.frames(), [], 'nothing answered before the login is');
    assert.equal(sends.length, 0, 'the SEND waits for the login');
    auth.accept(ALICE);
    const [connected, receipt] = await conn.waitFrames(2);
    assert.equal(connected!.command, 'CONNECTED');
    assert.equal(connected!.headers.version, '1.2');
    assert.deepEqual([receipt!.command, receipt!.headers['receipt-id']], ['RECEIPT', 'r1']);
    assert.equal(sends[0]!.origin?.subject, ALICE, 'the send carries the login subject');
    assert.equal(sends[0]!.origin?.component, 'stomp');
    assert.equal(core.queueStats().find((q) => q.name === 'orders')?.messages, 1);
    conn.send(['DISCONNECT', { receipt: 'bye' }]);
    await conn.waitFrames(3);
    assert.ok(conn.ended);
    assert.equal(auth.closed, 1, 'the login session is closed with the connection');
  });

  for (const [reason, message] of [
    ['credentials', 'Authentication failed'],
    ['throttled', 'Too many failed logins, try later'],
    ['limit', 'Connection limit reached'],
  ] as const) {
    test(`a login refused for ${reason}: ERROR "${message}" with the CONNECT's receipt-id, then close; nothing after CONNECT is served`, async () => {
      const { conn, auth, sends } = await session();
      conn.send(
        ['CONNECT', { 'accept-version': '1.2', host: 'x', login: 'alice', passcode: 'wrong-passcode', receipt: 'c0' }],
        ['SEND', { destination: '/queue/orders', receipt: 'r1' }, 'hello'],
      );
      auth.refuse(reason, 'Unknown user or wrong password');
      const [err] = await conn.waitFrames(1);
      assert.equal(err!.command, 'ERROR');
      assert.equal(err!.headers.message, message);
      assert.equal(err!.headers['receipt-id'], 'c0');
      assert.equal(err!.body.trim(), 'Unknown user or wrong password');
      assert.ok(!JSON.stringify(conn.frames()).includes('wrong-passcode'), 'the passcode is never echoed');
      assert.ok(conn.ended, 'closed after the ERROR');
      assert.equal(conn.frames().length, 1);
      assert.equal(sends.length, 0, 'the SEND behind the refused CONNECT never reaches the core');
      assert.equal(auth.closed, 0);
    });
  }

  test('frames behind a login that has not answered are held within the per-connection bound: reading stops, and goes on after', async () => {
    const { conn, auth, sends } = await session();
    conn.send(['CONNECT', { 'accept-version': '1.2', host: 'x', login: 'alice', passcode: 'p' }]);
    const flood = Array.from({ length: 1100 }, (_, i): [string, Record<string, string>, string] => ['SEND', { destination: '/queue/flood' }, `m${i}`]);
    conn.send(...flood);
    assert.ok(conn.paused, 'the connection is no longer read once 1,024 frames wait');
    assert.equal(sends.length, 0);
    auth.accept(ALICE);
    const deadline = Date.now() + 5000;
    while ((sends.length < 1100 || conn.paused) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    assert.equal(sends.length, 1100, 'every held frame is served once the login answers');
    assert.ok(!conn.paused, 'and reading resumes');
  });

  test('a login answered after the connection closed: its session is closed at once', async () => {
    const { conn, auth } = await session();
    conn.send(['CONNECT', { 'accept-version': '1.2', host: 'x', login: 'alice', passcode: 'p' }]);
    conn.close();
    auth.accept(ALICE);
    await new Promise((r) => setImmediate(r));
    assert.equal(auth.closed, 1);
    assert.deepEqual(conn.frames(), []);
  });

  test('a login not answered within connectTimeout: ERROR and close', async () => {
    const { conn } = await session({ connectTimeout: 100 });
    conn.send(['CONNECT', { 'accept-version': '1.2', host: 'x', login: 'alice', passcode: 'p' }]);
    const [err] = await conn.waitFrames(1);
    assert.equal(err!.command, 'ERROR');
    assert.match(err!.body, /Login not answered within 100 ms/);
    assert.ok(conn.ended);
  });

  test('a second CONNECT while the first logs in is a protocol error', async () => {
    const { conn } = await session();
    conn.send(['CONNECT', { 'accept-version': '1.2', host: 'x' }], ['CONNECT', { 'accept-version': '1.2', host: 'x' }]);
    const [err] = await conn.waitFrames(1);
    assert.equal(err!.command, 'ERROR');
    assert.match(err!.body, /Already connected/);
    assert.ok(conn.ended);
  });

  test('a denied SEND: ERROR "Not authorized" with its receipt-id, and the connection goes on (ActiveMQ Classic)', async () => {
    const { conn, auth, sends, core } = await session();
    conn.send(['CONNECT', { 'accept-version': '1.2', host: 'x', login: 'alice', passcode: 'p' }]);
    auth.accept(ALICE);
    await conn.waitFrames(1);
    conn.send(
      ['SEND', { destination: '/queue/denied.x', receipt: 'r1' }, 'no'],
      ['SEND', { destination: '/queue/denied.x' }, 'no receipt'],
      ['BEGIN', { transaction: 't1', receipt: 'b1' }],
      ['SEND', { destination: '/queue/denied.x', transaction: 't1', receipt: 'r2' }, 'no'],
      ['SEND', { destination: '/queue/ok', transaction: 't1', receipt: 'r3' }, 'yes'],
      ['COMMIT', { transaction: 't1', receipt: 'c1' }],
    );
    const frames = (await conn.waitFrames(7)).slice(1);
    assert.deepEqual(
      frames.map((f) => [f.command, f.headers['receipt-id'], f.headers.message]),
      [
        ['ERROR', 'r1', 'Not authorized'],
        ['ERROR', undefined, 'Not authorized'],
        ['RECEIPT', 'b1', undefined],
        ['ERROR', 'r2', 'Not authorized'],
        ['RECEIPT', 'r3', undefined],
        ['RECEIPT', 'c1', undefined],
      ],
    );
    assert.match(frames[0]!.body, /User may not send denied\.x/);
    assert.ok(!conn.ended, 'a denial does not close the connection');
    assert.equal(core.queueStats().find((q) => q.name === 'denied.x'), undefined, 'nothing reached the denied queue');
    assert.equal(core.queueStats().find((q) => q.name === 'ok')?.messages, 1, 'the transaction committed its allowed send');
    for (const o of sends) assert.equal(o.origin?.subject, ALICE, 'every send, in a transaction or not, carries the origin');
    assert.ok(sends.filter((o) => o.tx !== undefined).length === 2);
    assert.equal(sends[0], sends[1], 'sends outside a transaction share one options object');
  });

  test('a denied SUBSCRIBE: ERROR with its receipt-id; the id is free again and the connection serves on', async () => {
    const { conn, auth } = await session();
    conn.send(['CONNECT', { 'accept-version': '1.2', host: 'x', login: 'alice', passcode: 'p' }]);
    auth.accept(ALICE);
    await conn.waitFrames(1);
    conn.send(
      ['SUBSCRIBE', { destination: '/queue/denied.x', id: 's1', receipt: 'r1' }],
      ['SUBSCRIBE', { destination: '/queue/denied.x', id: 's1', browser: 'true', receipt: 'r2' }],
      ['SUBSCRIBE', { destination: '/queue/ok', id: 's1', receipt: 'r3' }],
    );
    const frames = (await conn.waitFrames(4)).slice(1);
    assert.deepEqual(
      frames.map((f) => [f.command, f.headers['receipt-id'], f.headers.message]),
      [
        ['ERROR', 'r1', 'Not authorized'],
        ['ERROR', 'r2', 'Not authorized'],
        ['RECEIPT', 'r3', undefined],
      ],
    );
    assert.match(frames[1]!.body, /User may not browse denied\.x/);
    assert.ok(!conn.ended);
  });
});
