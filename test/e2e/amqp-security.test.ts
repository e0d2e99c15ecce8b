import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import rhea from 'rhea';
import { hashPassword } from '../../src/security/password-hash.ts';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { AmqpTestClient } from '../helpers/amqp-client.ts';
import { coordinator, transactionalSend } from '../helpers/amqp-tx.ts';
import { AMQP_HEADER, frames, perf, RawAmqp, SASL_HEADER, until } from '../helpers/raw-amqp.ts';
import { protonMissing, runProtonScenario } from '../helpers/python-proton.ts';

// Issue 14, AMQP: SASL against the users file and the core's permission answers, with real clients
// (rhea, python-qpid-proton) and a raw peer for the exact SASL codes (AMQP 1.0 §5.3.3.6).

const PY = path.resolve(import.meta.dirname, 'python/amqp_proton_security.py');
const missing = await protonMissing();
/** A cheap scrypt for tests (the default costs ~100 ms a login). */
const FAST = { ln: 10, r: 8, p: 1 };

const PERMISSIONS = {
  'orders.#': { send: ['app'], consume: ['app'], browse: ['app'], createAddress: ['app'], createDurableQueue: ['app'] },
  'readonly.#': { consume: ['app', 'other'], createAddress: ['app', 'other'], createDurableQueue: ['app', 'other'] },
  'events.#': { consume: ['app', 'other'], createAddress: ['app', 'other'], createDurableQueue: ['app'], createNonDurableQueue: ['app', 'other'] },
  '$tmp.#': { send: ['app', 'other'], consume: ['app', 'other'], createNonDurableQueue: ['app', 'other'], deleteNonDurableQueue: ['app', 'other'] },
};

const MAKE_CERTS = path.resolve(import.meta.dirname, '../../examples/tls/make-certs.sh');
const run = promisify(execFile);

let dir: string;
let certs: string;
let broker: TestBroker;
const port = (): number => broker.ports.amqp!;

async function securedBroker(security: Record<string, unknown> = {}, more: Record<string, unknown> = {}): Promise<TestBroker> {
  return startBroker({ security: { usersFile: path.join(dir, 'users.json'), permissions: PERMISSIONS, ...security }, ...more } as Parameters<typeof startBroker>[0]);
}

/** A client certificate signed by the examples' CA in `certs`: verified by the broker, mapped to no user. */
async function strangerCertificate(): Promise<void> {
  const f = (n: string): string => path.join(certs, n);
  await run('openssl', ['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('stranger-key.pem'), '-out', f('stranger.csr'), '-subj', '/O=Junction Example/CN=stranger']);
  await writeFile(f('stranger.ext'), 'basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n');
  await run('openssl', ['x509', '-req', '-in', f('stranger.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca-key.pem'), '-CAcreateserial', '-CAserial', f('stranger.srl'), '-days', '2', '-sha256', '-extfile', f('stranger.ext'), '-out', f('stranger.pem')]);
}

/** A SASL frame (type 1) with one performative, encoded by rhea. */
function sasl(name: string, fields: Record<string, unknown>): Buffer {
  const f = frames as unknown as { sasl_frame(p: unknown): unknown; write_frame(f: unknown): Buffer } & Record<string, (x: unknown) => unknown>;
  return f.write_frame(f.sasl_frame(f[name]!(fields)));
}

const plain = (user: string, password: string): Buffer => Buffer.from(`\0${user}\0${password}`);

/** A raw peer that sends the SASL header and a sasl-init, then `more`; resolves with the outcome code it got. */
async function rawLogin(p: number, mechanism: string, response: Buffer | undefined, ...more: Buffer[]): Promise<{ raw: RawAmqp; code: number; offered: unknown }> {
  const raw = await RawAmqp.connect(p);
  raw.write(SASL_HEADER, sasl('sasl_init', { mechanism, ...(response ? { initial_response: response } : {}) }), ...more);
  await until(() => raw.received.some((r) => r.name === 'sasl-outcome'), 'the sasl-outcome');
  const offered = raw.received.find((r) => r.name === 'sasl-mechanisms')?.p['sasl_server_mechanisms'];
  return { raw, code: raw.received.find((r) => r.name === 'sasl-outcome')!.p['code'] as number, offered };
}

/** Connects with rhea; resolves 'open' or the connection error rhea reports. */
function rheaLogin(p: number, opts: { username?: string; password?: string }): Promise<string> {
  return new Promise((resolve) => {
    const c = rhea.create_container().connect({ host: '127.0.0.1', port: p, reconnect: false, ...opts });
    c.on('error', () => undefined);
    // A client without credentials skips SASL: rhea reports the broker's SASL header as a protocol error.
    c.on('protocol_error', () => undefined);
    c.once('connection_open', () => {
      c.close();
      resolve('open');
    });
    c.once('disconnected', (ctx) => {
      const e = (ctx.connection as unknown as { get_error(): { condition?: string; description?: string } | undefined }).get_error();
      resolve(e ? `${e.condition}: ${e.description}` : 'disconnected');
    });
  });
}

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'junction-amqp-security-'));
  certs = path.join(dir, 'certs');
  await run('bash', [MAKE_CERTS, certs, 'device1']);
  await strangerCertificate();
  const users = {
    alice: { password: await hashPassword('alice-pw', FAST), roles: ['app'] },
    bob: { password: await hashPassword('bob-pw', FAST), roles: ['other'] },
    // No password: this user logs in with its certificate only (SASL EXTERNAL).
    device1: { roles: ['app'], certificates: ['CN=device1,O=Junction Example'] },
  };
  await writeFile(path.join(dir, 'users.json'), JSON.stringify({ users }));
  broker = await securedBroker();
});
after(async () => {
  await broker?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('AMQP SASL with security on', () => {
  test('PLAIN with the right password opens; a wrong password or an unknown user gets outcome auth (1) and the socket closes', async () => {
    assert.equal(await rheaLogin(port(), { username: 'alice', password: 'alice-pw' }), 'open');
    assert.match(await rheaLogin(port(), { username: 'alice', password: 'wrong' }), /^amqp:unauthorized-access/);
    for (const [user, password] of [
      ['alice', 'wrong'],
      ['mallory', 'alice-pw'],
    ] as const) {
      const { raw, code } = await rawLogin(port(), 'PLAIN', plain(user, password));
      assert.equal(code, 1, `${user}/${password}`);
      await raw.closedWithin();
      assert.equal(raw.received.some((r) => r.name === 'open'), false);
    }
  });

  test('ANONYMOUS is neither offered nor accepted when no role is granted to anonymous; a client without credentials is refused', async () => {
    const { raw, code, offered } = await rawLogin(port(), 'ANONYMOUS', undefined);
    assert.deepEqual([offered].flat(), ['PLAIN']);
    assert.equal(code, 1);
    await raw.closedWithin();
    assert.notEqual(await rheaLogin(port(), {}), 'open');
  });

  test('a malformed PLAIN response, a second sasl-init and a sasl-response are refused with auth', async () => {
    const bad = await rawLogin(port(), 'PLAIN', Buffer.from('alice-pw'));
    assert.equal(bad.code, 1);
    await bad.raw.closedWithin();
    // Two inits in one write: one login, one outcome (auth for the second), then the socket closes.
    const twice = await rawLogin(port(), 'PLAIN', plain('alice', 'wrong'), sasl('sasl_init', { mechanism: 'PLAIN', initial_response: plain('alice', 'wrong') }));
    await twice.raw.closedWithin();
    assert.equal(twice.raw.received.filter((r) => r.name === 'sasl-outcome').length, 1);
  });

  test('the AMQP header without SASL is answered with the SASL header and the socket closes (SASL required)', async () => {
    const raw = await RawAmqp.connect(port());
    const bytes: Buffer[] = [];
    raw.socket.on('data', (d) => bytes.push(d));
    raw.write(AMQP_HEADER, perf('open', { container_id: 'skipper' }));
    await raw.closedWithin();
    assert.deepEqual(Buffer.concat(bytes), SASL_HEADER);
  });

  test('a client that pipelines its AMQP header and open behind the sasl-init is answered once the login is done', async () => {
    const { raw, code } = await rawLogin(port(), 'PLAIN', plain('alice', 'alice-pw'), AMQP_HEADER, perf('open', { container_id: 'pipeliner' }));
    assert.equal(code, 0);
    await until(() => raw.received.some((r) => r.name === 'open'), 'the broker open');
    raw.socket.destroy();
  });
});

describe('AMQP permission answers', () => {
  let alice: AmqpTestClient;
  let bob: AmqpTestClient;
  before(async () => {
    alice = await AmqpTestClient.connect(port(), { username: 'alice', password: 'alice-pw', containerId: 'alice-app' });
    bob = await AmqpTestClient.connect(port(), { username: 'bob', password: 'bob-pw', containerId: 'bob-app' });
  });
  after(async () => {
    await alice?.close();
    await bob?.close();
  });

  test('a permitted sender and receiver work', async () => {
    const r = await alice.receiver('orders.new');
    const s = await alice.sender('orders.new');
    assert.equal((await alice.send(s, { body: 'o1' })).state, 'accepted');
    assert.equal((await r.next()).message.body, 'o1');
  });

  test('a sender to an address the user may not send to is detached with amqp:unauthorized-access', async () => {
    const e = await alice.refusedSender('readonly.feed');
    assert.equal(e.condition, 'amqp:unauthorized-access');
    assert.match(e.description ?? '', /alice is not authorized to send on readonly\.feed/);
  });

  test('a receiver on an address the user may not consume, or a queue it may not browse, is refused with amqp:unauthorized-access', async () => {
    assert.equal((await bob.refusedReceiver('orders.new')).condition, 'amqp:unauthorized-access');
    assert.equal((await bob.refusedReceiver({ address: 'orders.new', distribution_mode: 'copy' })).condition, 'amqp:unauthorized-access');
    // alice may browse what she consumes
    await alice.receiver({ address: 'orders.new', distribution_mode: 'copy' });
  });

  test('a message through the anonymous relay to an address the user may not send to is rejected with amqp:unauthorized-access', async () => {
    const relay = await alice.sender(null);
    const denied = await alice.send(relay, { to: 'readonly.feed', body: 'no' });
    assert.equal(denied.state, 'rejected');
    assert.equal(denied.error?.condition, 'amqp:unauthorized-access');
    assert.equal((await alice.send(relay, { to: 'orders.relay', body: 'yes' })).state, 'accepted', 'the link stays usable');
  });

  test('a denied message in a transaction is rejected with amqp:unauthorized-access inside its transactional state; the permitted one commits', async () => {
    const coord = await coordinator(alice);
    const txn = await coord.declare();
    const relay = await alice.sender(null);
    const denied = await transactionalSend(relay, { to: 'readonly.feed', body: 'no' }, txn);
    // transactional-state (0x34): [txn-id, outcome]; the outcome a rejected with its error.
    const state = (denied as unknown as { remote_state?: { value?: Array<{ value?: unknown }> } }).remote_state;
    const outcome = state?.value?.[1] as { value?: Array<{ value?: unknown }> } | undefined;
    assert.match(JSON.stringify(outcome), /amqp:unauthorized-access/);
    await transactionalSend(relay, { to: 'orders.tx', body: 'yes' }, txn);
    assert.deepEqual(await coord.discharge(txn, false), { accepted: true });
    assert.deepEqual(broker.core.browse('orders.tx').map((m) => m.body.toString()), ['yes']);
  });

  test('a durable subscription without createDurableQueue is refused; with it, it is made', async () => {
    const durable = { address: 'topic://events.audit', durable: 2, expiry_policy: 'never' };
    assert.equal((await bob.refusedReceiver(durable, { name: 'bob-audit' })).condition, 'amqp:unauthorized-access');
    const r = await alice.receiver(durable, 1, { name: 'alice-audit' });
    await alice.detachLink(r.link);
  });

  test("another user's dynamic node (temporary queue) may not be consumed", async () => {
    const mine = await alice.receiver({ dynamic: true }, 1, { allowNullSource: true });
    const address = (mine.link as unknown as { remote: { attach: { source: { address: string } } } }).remote.attach.source.address;
    assert.match(address, /^\$tmp\./);
    assert.equal((await bob.refusedReceiver(address)).condition, 'amqp:unauthorized-access');
    // bob may still send to it (a reply-to), as Artemis lets a temporary queue be sent to
    const s = await bob.sender(address);
    assert.equal((await bob.send(s, { body: 'reply' })).state, 'accepted');
    assert.equal((await mine.next()).message.body, 'reply');
  });
});

describe('AMQP login limits', () => {
  let limited: TestBroker;
  before(async () => {
    limited = await securedBroker({ maxConnectionsPerUser: 1, maxFailedLoginsPerAddress: 2 });
  });
  after(async () => {
    await limited?.stop();
  });

  test('a second connection over the per-user cap gets sys-temp (4); closing the first frees the slot; failed logins throttle with sys-temp', async () => {
    const p = limited.ports.amqp!;
    const first = await AmqpTestClient.connect(p, { username: 'alice', password: 'alice-pw' });
    const over = await rawLogin(p, 'PLAIN', plain('alice', 'alice-pw'));
    assert.equal(over.code, 4);
    await over.raw.closedWithin();
    await first.close();
    // The login session closes with the connection: the slot is free again.
    const again = await rawLogin(p, 'PLAIN', plain('alice', 'alice-pw'));
    assert.equal(again.code, 0);
    again.raw.socket.destroy();
    for (let i = 0; i < 2; i++) assert.equal((await rawLogin(p, 'PLAIN', plain('bob', 'wrong'))).code, 1);
    assert.equal((await rawLogin(p, 'PLAIN', plain('bob', 'bob-pw'))).code, 4, 'throttled: the right password too');
  });
});

/** AMQP over a WebSocket URL with PLAIN: the round-tripped body, or 'refused'. */
async function wsRoundTrip(url: string, username: string, password: string, wsOptions: Record<string, unknown> = {}): Promise<string> {
  const { default: WebSocket } = await import('ws');
  return new Promise((resolve) => {
    const container = rhea.create_container();
    const ws = container.websocket_connect(WebSocket as unknown as Parameters<typeof container.websocket_connect>[0]);
    const conn = container.connect({ connection_details: ws(url, ['amqp'], wsOptions), username, password, reconnect: false } as unknown as Parameters<typeof container.connect>[0]);
    conn.on('error', () => undefined);
    conn.once('connection_open', () => {
      conn.open_receiver({ source: { address: 'orders.ws' }, credit_window: 10 }).on('message', (ctx) => {
        resolve(String(ctx.message?.body));
        conn.close();
      });
      conn.open_sender('orders.ws').once('sendable', (ctx) => ctx.sender?.send({ body: 'over websocket' }));
    });
    conn.once('disconnected', () => resolve('refused'));
  });
}

describe('AMQP over WebSocket with credentials', () => {
  test('PLAIN over the WebSocket port: right credentials work, wrong ones are refused', async () => {
    assert.equal(await wsRoundTrip(`ws://127.0.0.1:${broker.ports.ws}`, 'alice', 'alice-pw'), 'over websocket');
    assert.equal(await wsRoundTrip(`ws://127.0.0.1:${broker.ports.ws}`, 'alice', 'nope'), 'refused');
  });
});

describe('AMQPS: SASL EXTERNAL with a verified client certificate, PLAIN over TLS', () => {
  let tlsBroker: TestBroker;
  const pem = (n: string): Promise<Buffer> => readFile(path.join(certs, n));
  before(async () => {
    tlsBroker = await securedBroker(
      {},
      { tls: { cert: path.join(certs, 'server.pem'), key: path.join(certs, 'server-key.pem'), ca: path.join(certs, 'ca.pem'), clientAuth: 'want', ports: { stomp: 0, mqtt: 0, amqp: 0, ws: 0 } } },
    );
  });
  after(async () => {
    await tlsBroker?.stop();
  });

  /** rhea over TLS: EXTERNAL with `client` (a certificate name in `certs`), else PLAIN with `login`; 'open <body>' after a round trip, or the error. */
  async function tlsRoundTrip(opts: { client?: string; login?: [string, string] }): Promise<string> {
    const options = {
      transport: 'tls',
      host: 'localhost',
      servername: 'localhost',
      port: tlsBroker.ports.amqps!,
      ca: [await pem('ca.pem')],
      reconnect: false,
      ...(opts.client ? { cert: await pem(`${opts.client}.pem`), key: await pem(`${opts.client}-key.pem`), enable_sasl_external: true } : {}),
      ...(opts.login ? { username: opts.login[0], password: opts.login[1] } : {}),
    };
    return new Promise((resolve) => {
      const c = rhea.create_container().connect(options as unknown as Parameters<ReturnType<typeof rhea.create_container>['connect']>[0]);
      c.on('error', () => undefined);
      c.once('connection_open', () => {
        c.open_receiver({ source: { address: 'orders.tls' }, credit_window: 1 }).once('message', (ctx) => {
          resolve(`open ${String(ctx.message?.body)}`);
          c.close();
        });
        c.open_sender('orders.tls').once('sendable', (ctx) => ctx.sender?.send({ body: 'over tls' }));
      });
      c.once('disconnected', (ctx) => {
        const e = (ctx.connection as unknown as { get_error(): { condition?: string; description?: string } | undefined }).get_error();
        resolve(e ? `${e.condition}: ${e.description}` : 'disconnected');
      });
    });
  }

  test('EXTERNAL with a certificate the users file maps logs in as its user; an unmapped one gets auth (1)', async () => {
    assert.equal(await tlsRoundTrip({ client: 'client' }), 'open over tls');
    assert.match(await tlsRoundTrip({ client: 'stranger' }), /^amqp:unauthorized-access: Failed to authenticate: 1/);
  });

  test('PLAIN over TLS without a client certificate', async () => {
    assert.equal(await tlsRoundTrip({ login: ['alice', 'alice-pw'] }), 'open over tls');
    assert.match(await tlsRoundTrip({ login: ['alice', 'nope'] }), /^amqp:unauthorized-access/);
  });

  test('PLAIN over secure WebSocket (wss)', async () => {
    const url = `wss://localhost:${tlsBroker.ports.wss}`;
    assert.equal(await wsRoundTrip(url, 'alice', 'alice-pw', { ca: await pem('ca.pem') }), 'over websocket');
    assert.equal(await wsRoundTrip(url, 'bob', 'alice-pw', { ca: await pem('ca.pem') }), 'refused');
  });

  // EXTERNAL with a mapped certificate and with none: tls-mtls-login.test.ts.
  test('python-qpid-proton: SSL with SASL PLAIN; SASL EXTERNAL with a certificate mapped to no user is refused', { skip: missing ?? false }, async () => {
    const ssl = { ca: path.join(certs, 'ca.pem') };
    const plainTls = await runProtonScenario<{ body?: string }>(PY, tlsBroker.ports.amqps!, 'roundtrip', { ssl, user: 'alice', password: 'alice-pw', address: 'orders.py-tls', body: 'proton plain' });
    assert.equal(plainTls.body, 'proton plain');
    const stranger = await runProtonScenario<{ refused?: string }>(PY, tlsBroker.ports.amqps!, 'roundtrip', {
      mechs: 'EXTERNAL',
      ssl: { ...ssl, cert: path.join(certs, 'stranger.pem'), key: path.join(certs, 'stranger-key.pem') },
      address: 'orders.py-tls',
    });
    assert.match(stranger.refused ?? '', /unauthorized-access/);
  });
});

describe('python-qpid-proton with security on', { skip: missing ?? false }, () => {
  test('SASL PLAIN: the right password sends and receives, a wrong one is refused with amqp:unauthorized-access', async () => {
    const ok = await runProtonScenario<{ body?: string }>(PY, port(), 'roundtrip', { user: 'alice', password: 'alice-pw', address: 'orders.py', body: 'from proton', host: '127.0.0.1' });
    assert.equal(ok.body, 'from proton');
    const bad = await runProtonScenario<{ refused?: string }>(PY, port(), 'roundtrip', { user: 'alice', password: 'wrong', address: 'orders.py', host: '127.0.0.1' });
    assert.match(bad.refused ?? '', /amqp:unauthorized-access/);
  });

  test('a denied sender attach reaches proton as amqp:unauthorized-access', async () => {
    const out = await runProtonScenario<{ link_error?: string }>(PY, port(), 'send', { user: 'bob', password: 'bob-pw', address: 'orders.py', host: '127.0.0.1' });
    assert.match(out.link_error ?? '', /unauthorized-access/);
  });
});
