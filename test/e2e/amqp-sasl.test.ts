import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pino from 'pino';
import rhea from 'rhea';
import { Core } from '../../src/core/core.ts';
import { AmqpProtocol } from '../../src/protocols/amqp/amqp-protocol.ts';
import { MemoryStore } from '../../src/store/memory-store.ts';
import { TcpServer } from '../../src/transport/tcp-server.ts';
import type { Authenticator } from '../../src/core/ports/security.ts';

// The SASL login hook: the broker accepts every PLAIN login until security is configured; an
// authenticator (the security issue's) decides instead when one is given.

const log = pino({ level: 'silent' });
let core: Core;
let server: TcpServer;
let port: number;
const seen: Array<{ user: string; password: string }> = [];

before(async () => {
  core = await Core.open({ store: new MemoryStore(), log });
  const cfg = { maxFrameSize: 65536, channelMax: 255, idleTimeout: 0, maxMessageSize: 1 << 20, producerCredit: 10, saslMechanisms: ['PLAIN' as const], serverName: 'test', connectTimeout: 10000, minIdleTimeout: 1000, maxConsumerCredit: 4096, maxLinksPerSession: 1024, maxLinksPerConnection: 10_000 };
  const auth: Authenticator = {
    enabled: true,
    anonymousAllowed: false,
    login: async ({ user, password }) => {
      seen.push({ user: user!, password: password! });
      return user === 'alice' && password === 'right'
        ? { ok: true, session: { subject: { user, roles: new Set() }, close() {} } }
        : { ok: false, reason: 'credentials', message: 'wrong' };
    },
  };
  const amqp = new AmqpProtocol(core, cfg, log, auth);
  server = new TcpServer(amqp);
  port = await server.listen(0, '127.0.0.1');
});
after(async () => {
  await server.close();
  await core.close();
});

function login(username: string, password: string): Promise<'open' | string> {
  return new Promise((resolve) => {
    const c = rhea.create_container().connect({ host: '127.0.0.1', port, username, password, reconnect: false });
    c.on('error', () => undefined);
    c.once('connection_open', () => {
      c.close();
      resolve('open');
    });
    c.once('disconnected', (ctx) => resolve(String((ctx.connection as unknown as { get_error(): { condition?: string } | undefined }).get_error()?.condition ?? ctx.error ?? 'disconnected')));
  });
}

describe('SASL PLAIN hook', () => {
  test('the authenticator sees the credentials and decides', async () => {
    assert.equal(await login('alice', 'right'), 'open');
    assert.notEqual(await login('mallory', 'guess'), 'open');
    assert.deepEqual(seen, [
      { user: 'alice', password: 'right' },
      { user: 'mallory', password: 'guess' },
    ]);
  });
});
