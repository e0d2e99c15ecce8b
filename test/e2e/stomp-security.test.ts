import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { hashPassword } from '../../src/security/password-hash.ts';
import { AmqpTestClient } from '../helpers/amqp-client.ts';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { captureLog, type LogCapture } from '../helpers/log-capture.ts';
import { RawStomp } from '../helpers/raw-stomp.ts';
import { makeCerts, tlsConfig, type TestCerts } from '../helpers/tls-certs.ts';
import { connect, connectFor, maybeStats, nextReceiptId, type ConnectOptions } from '../helpers/stompjs.ts';
import { pyTest, runPython } from '../helpers/stomp-python.ts';

// Issue 14 for STOMP, end to end: a broker with a users file and permissions, real clients
// (@stomp/stompjs over TCP and WebSocket, stomp.py, raw TCP where a client hides the answer) over
// real sockets. Answers follow ActiveMQ Classic 5.17 (checked against it with its simple
// authentication and authorization plugins): a refused CONNECT is ERROR and close; a denied frame is
// ERROR with its receipt-id, and the connection stays open.

const PASSWORDS = { alice: 'alice-pw', bob: 'bob-pw', carol: 'carol-pw' } as const;
/** Cheap scrypt parameters: the broker verifies whatever parameters the PHC string names. */
const FAST = { ln: 10, r: 8, p: 1 };

// Queues sec.>, topics news.>. alice may do everything; bob only read (no send, no durable topic
// subscription); carol only write. A queue a client's first SEND or SUBSCRIBE creates is durable
// (Artemis: createAddress and createDurableQueue). Everyone may make and use temporary queues
// ($tmp.#): a temporary queue is refused to another user by ownership, not by a missing grant.
const PERMISSIONS = {
  'sec.>': {
    send: ['writer'],
    consume: ['reader'],
    browse: ['reader'],
    createAddress: ['writer', 'reader'],
    createDurableQueue: ['writer', 'reader'],
  },
  'news.>': {
    send: ['writer'],
    consume: ['reader'],
    createAddress: ['writer', 'reader'],
    createNonDurableQueue: ['reader'],
    deleteNonDurableQueue: ['reader'],
    createDurableQueue: ['durable'],
    deleteDurableQueue: ['durable'],
  },
  '$tmp.#': { send: ['temp'], consume: ['temp'], createNonDurableQueue: ['temp'], deleteNonDurableQueue: ['temp'] },
};

/** Writes the users file of these tests (alice, bob, carol) into a fresh temp dir; returns the dir and the file. */
async function writeUsers(extra: Record<string, unknown> = {}): Promise<{ dir: string; usersFile: string }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'stomp-security-'));
  const usersFile = path.join(dir, 'users.json');
  const users = {
    alice: { password: await hashPassword(PASSWORDS.alice, FAST), roles: ['writer', 'reader', 'durable', 'temp'] },
    bob: { password: await hashPassword(PASSWORDS.bob, FAST), roles: ['reader', 'temp'] },
    carol: { password: await hashPassword(PASSWORDS.carol, FAST), roles: ['writer'] },
    ...extra,
  };
  await writeFile(usersFile, JSON.stringify({ users }));
  return { dir, usersFile };
}

describe('STOMP security: users file and permissions', () => {
  let broker: TestBroker;
  let log: LogCapture;
  let dir: string;
  const port = () => broker.ports.stomp!;
  const as = (user: keyof typeof PASSWORDS, opts: ConnectOptions = {}): ConnectOptions => ({
    ...opts,
    name: opts.name ?? `${user}(${opts.transport ?? 'tcp'})`,
    connectHeaders: { login: user, passcode: PASSWORDS[user], ...opts.connectHeaders },
  });

  before(async () => {
    log = captureLog('debug');
    const { dir: d, usersFile } = await writeUsers();
    dir = d;
    broker = await startBroker({ security: { usersFile, permissions: PERMISSIONS } }, { logger: log.logger });
  });
  after(async () => {
    await broker.stop();
    await rm(dir, { recursive: true, force: true });
    for (const [user, pw] of Object.entries(PASSWORDS)) {
      assert.ok(!log.lines.some((l) => JSON.stringify(l).includes(pw)), `${user}'s password never reaches a log line`);
    }
  });

  test('right credentials: CONNECTED, and a message goes round (stompjs over TCP)', async (t) => {
    const c = await connectFor(t, broker, as('alice'));
    assert.equal(c.connected.headers.version, '1.2');
    const inbox = await c.subscribe('/queue/sec.round');
    await c.send('/queue/sec.round', 'hello');
    const [m] = await inbox.take(1);
    assert.equal(m!.body, 'hello');
  });

  for (const [label, headers] of [
    ['wrong password', { login: 'alice', passcode: 'not-her-password' }],
    ['unknown user', { login: 'mallory', passcode: 'not-her-password' }],
    ['no credentials (anonymous is not granted)', {}],
  ] as const) {
    test(`${label}: ERROR "Authentication failed" (with the CONNECT's receipt-id), then the broker closes`, async () => {
      const c = await RawStomp.open(port());
      c.send('CONNECT', { 'accept-version': '1.2', host: 'localhost', receipt: 'c-1', ...headers });
      c.send('SEND', { destination: '/queue/sec.behind-refused', receipt: 's-1' }, 'must not arrive');
      const f = await c.nextFrame();
      assert.equal(f.command, 'ERROR');
      assert.equal(f.header('message'), 'Authentication failed', 'the same answer whether the user exists or not');
      assert.equal(f.header('receipt-id'), 'c-1');
      assert.ok(!f.text.includes('not-her-password'), 'the passcode is never echoed');
      await c.closed();
      assert.equal(c.pending, 0, 'nothing after the ERROR');
      assert.equal(maybeStats(broker, 'sec.behind-refused'), undefined, 'the SEND behind a refused CONNECT never reaches a queue');
    });
  }

  test('stompjs sees the refusal as the ERROR on connect', async () => {
    await assert.rejects(connect(broker, { connectHeaders: { login: 'alice', passcode: 'nope' } }), /ERROR on connect: Authentication failed/);
  });

  test('denied SEND: ERROR "Not authorized" with its receipt-id, nothing reaches the queue, and the connection stays open', async (t) => {
    const bob = await connectFor(t, broker, as('bob'));
    const id = nextReceiptId();
    bob.client.publish({ destination: '/queue/sec.denied-send', body: 'from bob', headers: { receipt: id } });
    const err = await bob.nextError();
    assert.equal(err.headers.message, 'Not authorized');
    assert.equal(err.headers['receipt-id'], id);
    assert.match(err.body, /User bob is not authorized to send on sec\.denied-send/);
    assert.equal(maybeStats(broker, 'sec.denied-send')?.enqueued ?? 0, 0);
    // ActiveMQ keeps the connection after a denied SEND: bob still reads what alice sends.
    const inbox = await bob.subscribe('/queue/sec.denied-send');
    const alice = await connectFor(t, broker, as('alice'));
    await alice.send('/queue/sec.denied-send', 'from alice');
    assert.deepEqual((await inbox.take(1)).map((m) => m.body), ['from alice']);
    assert.ok(!bob.closed);
  });

  test('denied SUBSCRIBE and browse: ERROR with the receipt-id; the connection goes on serving', async (t) => {
    const carol = await connectFor(t, broker, as('carol'));
    await carol.send('/queue/sec.carol', 'carol may send');
    await assert.rejects(carol.subscribe('/queue/sec.carol'), /ERROR instead of receipt .*: Not authorized User carol is not authorized to consume on sec\.carol/);
    await assert.rejects(carol.subscribe('/queue/sec.carol', { browser: 'true' }), /Not authorized User carol is not authorized to browse on sec\.carol/);
    await carol.send('/queue/sec.carol', 'carol may still send');
    assert.equal(maybeStats(broker, 'sec.carol')?.messages, 2);
  });

  test('denied durable subscription (activemq.subscriptionName): ERROR, no subscription made; alice may', async (t) => {
    const bob = await connectFor(t, broker, as('bob', { connectHeaders: { 'client-id': 'bob-app' } }));
    await assert.rejects(bob.subscribe('/topic/news.daily', { 'activemq.subscriptionName': 'bob-news' }), /Not authorized User bob is not authorized to createDurableQueue/);
    assert.deepEqual(broker.core.durableSubscriptions('bob-app'), []);
    // A plain (non-durable) subscription to the same topic is within bob's grants.
    await bob.subscribe('/topic/news.daily');
    const alice = await connectFor(t, broker, as('alice', { connectHeaders: { 'client-id': 'alice-app' } }));
    await alice.subscribe('/topic/news.daily', { 'activemq.subscriptionName': 'alice-news' });
    assert.equal(broker.core.durableSubscriptions('alice-app').length, 1);
  });

  test("another user's temporary queue: refused, and its owner still gets its messages", async (t) => {
    const amqp = await AmqpTestClient.connect(broker.ports.amqp!, { username: 'alice', password: PASSWORDS.alice });
    t.after(() => amqp.close());
    const replies = await amqp.receiver({ dynamic: true }, 10);
    const address = (replies.link as unknown as { remote: { attach: { source: { address: string } } } }).remote.attach.source.address;
    assert.match(address, /^\$tmp\./);
    const c = await RawStomp.connect(port(), { 'accept-version': '1.2', host: 'localhost', login: 'bob', passcode: PASSWORDS.bob });
    t.after(() => c.destroy());
    c.send('SUBSCRIBE', { destination: `/queue/${address}`, id: 'steal', receipt: 'r-steal' });
    const f = await c.nextFrame();
    assert.equal(f.command, 'ERROR');
    assert.equal(f.header('receipt-id'), 'r-steal');
    // A reserved name, whatever the grants (as before security): ERROR and close.
    assert.equal(f.header('message'), 'Destination is reserved');
    await c.closed();
    const alice = await connectFor(t, broker, as('alice'));
    await alice.send(`/queue/${address}`, 'reply for alice');
    const r = await replies.next();
    // stompjs sends content-length: a bytes body, an AMQP data section.
    assert.equal(Buffer.from((r.message.body as { content: Uint8Array }).content).toString(), 'reply for alice');
  });

  test('STOMP over WebSocket: right credentials connect, a wrong passcode is refused', async (t) => {
    const c = await connectFor(t, broker, as('alice', { transport: 'ws' }));
    const inbox = await c.subscribe('/queue/sec.ws');
    await c.send('/queue/sec.ws', 'over ws');
    assert.deepEqual((await inbox.take(1)).map((m) => m.body), ['over ws']);
    await assert.rejects(connect(broker, { transport: 'ws', connectHeaders: { login: 'alice', passcode: 'nope' } }), /ERROR on connect: Authentication failed/);
  });

  pyTest('stomp.py: a login, a refused login, a denied SEND and a transaction around a denied SEND', async () => {
    const run = await runPython(
      port(),
      [
        { op: 'connect', conn: 'bad', login: 'alice', passcode: 'wrong', expect: 'error', as: 'refused' },
        { op: 'connect', conn: 'a', login: 'alice', passcode: PASSWORDS.alice },
        { op: 'begin', conn: 'a', transaction: 'tx1' },
        { op: 'send', conn: 'a', destination: '/queue/other.x', bodies: ['no grant here'], transaction: 'tx1', expect: 'error', as: 'tx-denied' },
        { op: 'send', conn: 'a', destination: '/queue/sec.py', bodies: ['in tx'], transaction: 'tx1' },
        { op: 'commit', conn: 'a', transaction: 'tx1' },
        { op: 'connect', conn: 'b', login: 'bob', passcode: PASSWORDS.bob },
        { op: 'send', conn: 'b', destination: '/queue/sec.py', bodies: ['from bob'], expect: 'error', as: 'denied' },
        { op: 'subscribe', conn: 'b', destination: '/queue/sec.py', id: 'py-1' },
        { op: 'receive', conn: 'b', count: 1, quiet: 0.2, as: 'got' },
        { op: 'disconnect', conn: 'a' },
        { op: 'disconnect', conn: 'b' },
      ],
      { errorsExpected: true },
    );
    const refused = run.get('refused') as { error?: { headers: Record<string, string> }; closed?: boolean };
    assert.equal(refused.error?.headers.message, 'Authentication failed');
    assert.equal(refused.closed, true, 'the broker closed the refused connection');
    assert.equal(run.get('tx-denied').error?.headers.message, 'Not authorized');
    assert.equal(run.get('denied').error?.headers.message, 'Not authorized');
    assert.match(run.get('denied').error?.headers['receipt-id'] ?? '', /^b-rcpt-/);
    assert.deepEqual(run.messages('got').map((m) => m.body), ['in tx'], 'the transaction committed without the denied message; bob sent nothing');
    assert.equal(maybeStats(broker, 'other.x'), undefined);
  });
});

describe('STOMP security: anonymous granted a role (security.anonymousRoles)', () => {
  let broker: TestBroker;
  let dir: string;

  before(async () => {
    const { dir: d, usersFile } = await writeUsers();
    dir = d;
    broker = await startBroker({ security: { usersFile, permissions: PERMISSIONS, anonymousRoles: ['reader'] } });
  });
  after(async () => {
    await broker.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test('a CONNECT without credentials is the anonymous subject, with the anonymous roles only', async (t) => {
    const anon = await connectFor(t, broker, { name: 'anonymous' });
    const inbox = await anon.subscribe('/queue/sec.anon');
    await assert.rejects(anon.send('/queue/sec.anon', 'from anonymous'), /Not authorized User \(anonymous\) is not authorized to send on sec\.anon/);
    const alice = await connectFor(t, broker, { connectHeaders: { login: 'alice', passcode: PASSWORDS.alice } });
    await alice.send('/queue/sec.anon', 'from alice');
    assert.deepEqual((await inbox.take(1)).map((m) => m.body), ['from alice']);
  });

  test('credentials that do not check out are still refused (no fall-back to anonymous)', async () => {
    await assert.rejects(connect(broker, { connectHeaders: { login: 'alice', passcode: 'nope' } }), /ERROR on connect: Authentication failed/);
  });
});

/**
 * A client bug, not the broker's: stomp.py 8.0 (Debian's) reads a TLS socket on its receiver thread
 * while the caller writes on it, and about one CONNECT in 200 (alone; one run in three of these tests
 * under load) never leaves the client (the broker's TLS socket reads 0 bytes until the client gives
 * up after 5 s), or the write fails with "EOF occurred in violation of protocol". That is stomp.py
 * issue #450, fixed upstream by PR #452 ("Use single thread for IO when using TLS", 2025-08). Raw
 * Python ssl sockets, node:tls and stomp.py over plain TCP lost none in 400-1,000 tries. So these tests
 * run as todo: reported, not failing the run, until Debian ships a stomp.py with the fix.
 */
const STOMP_PY_SSL = 'stomp.py 8.0 over SSL loses about 1 CONNECT in 200 (stomp.py issue #450, fixed upstream by PR #452)';

describe('STOMP security over TLS: stomp+ssl and WSS', () => {
  let broker: TestBroker;
  let dir: string;
  let certs: TestCerts;
  const ssl = () => ({ host: 'localhost', ssl: { ca_certs: certs.ca } });

  before(async () => {
    certs = await makeCerts('device1');
    // device1 logs in with its client certificate (mapped by the SAN make-certs.sh gives it) and only reads.
    const { dir: d, usersFile } = await writeUsers({ device1: { roles: ['reader'], certificates: ['email:device1@example.com'] } });
    dir = d;
    broker = await startBroker({ security: { usersFile, permissions: PERMISSIONS }, tls: tlsConfig(certs, { clientAuth: 'want' }) });
  });
  after(async () => {
    await broker.stop();
    await rm(dir, { recursive: true, force: true });
    await certs.remove();
  });

  pyTest('stomp.py over SSL: a login, a refused login', async () => {
    const run = await runPython(
      broker.ports.stompSsl!,
      [
        { op: 'connect', conn: 'bad', login: 'alice', passcode: 'wrong', expect: 'error', as: 'refused' },
        { op: 'connect', conn: 'a', login: 'alice', passcode: PASSWORDS.alice },
        { op: 'subscribe', conn: 'a', destination: '/queue/sec.tls', id: 'tls-1' },
        { op: 'send', conn: 'a', destination: '/queue/sec.tls', bodies: ['over tls'] },
        { op: 'receive', conn: 'a', count: 1, quiet: 0.2, as: 'got' },
        { op: 'disconnect', conn: 'a' },
      ],
      { ...ssl(), errorsExpected: true },
    );
    const refused = run.get('refused') as { error?: { headers: Record<string, string> }; closed?: boolean };
    assert.equal(refused.error?.headers.message, 'Authentication failed');
    assert.equal(refused.closed, true);
    assert.deepEqual(run.messages('got').map((m) => m.body), ['over tls']);
  }, { todo: STOMP_PY_SSL });

  pyTest('stomp.py over SSL with a client certificate and no passcode: the certificate\'s user, with its permissions', async () => {
    const run = await runPython(
      broker.ports.stompSsl!,
      [
        { op: 'connect', conn: 'd' },
        { op: 'subscribe', conn: 'd', destination: '/queue/sec.device', id: 'dev-1' },
        { op: 'send', conn: 'd', destination: '/queue/sec.device', bodies: ['from device1'], expect: 'error', as: 'denied' },
        { op: 'disconnect', conn: 'd' },
      ],
      { host: 'localhost', ssl: { ca_certs: certs.ca, cert_file: certs.clientCert, key_file: certs.clientKey }, errorsExpected: true },
    );
    assert.equal(run.get('denied').error?.headers.message, 'Not authorized');
    assert.match(run.get('denied').error?.body ?? '', /User device1 is not authorized to send on sec\.device/);
  }, { todo: STOMP_PY_SSL });

  pyTest('stomp.py over SSL without a client certificate and without credentials: refused', async () => {
    const run = await runPython(broker.ports.stompSsl!, [{ op: 'connect', conn: 'x', expect: 'error', as: 'refused' }], { ...ssl(), errorsExpected: true });
    assert.equal(run.get('refused').error?.headers.message, 'Authentication failed');
  }, { todo: STOMP_PY_SSL });

  test('stompjs over WSS with the CA: right credentials connect, a wrong passcode is refused', async (t) => {
    const c = await connectFor(t, broker, { transport: 'wss', ca: certs.caPem, name: 'alice(wss)', connectHeaders: { login: 'alice', passcode: PASSWORDS.alice } });
    const inbox = await c.subscribe('/queue/sec.wss');
    await c.send('/queue/sec.wss', 'over wss');
    assert.deepEqual((await inbox.take(1)).map((m) => m.body), ['over wss']);
    await assert.rejects(connect(broker, { transport: 'wss', ca: certs.caPem, connectHeaders: { login: 'alice', passcode: 'nope' } }), /ERROR on connect: Authentication failed/);
  });
});
