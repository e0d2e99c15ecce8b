import assert from 'node:assert/strict';
import { once } from 'node:events';
import { test } from 'node:test';
import pino from 'pino';
import { WebSocket } from 'ws';
import { ConfigSchema } from '../../../src/config/schema.ts';
import type { ProtocolAcceptor, TransportConnection } from '../../../src/transport/connection.ts';
import { createTransportGuards } from '../../../src/transport/transport-guards.ts';
import { WsServer } from '../../../src/transport/ws-server.ts';

// A congested connection arms the slow-consumer timer (OutboundPolicy). When the connection closes,
// the timer must go with it, over WebSocket as over TCP: left armed, it keeps the closed connection
// and its protocol session reachable for up to connections.slowConsumerTimeout.

test('a WebSocket connection that closes while congested leaves no slow-consumer timer', async () => {
  const guards = createTransportGuards({ ...ConfigSchema.parse({}).connections, slowConsumerTimeout: 60_000 }, pino({ level: 'silent' }));
  const server = new WsServer(guards);
  let conn: (TransportConnection & { slowTimer?: NodeJS.Timeout; congestedSince?: number }) | undefined;
  const closed = new Promise<void>((resolve) => {
    const acceptor: ProtocolAcceptor = {
      accept(c) {
        conn = c;
        c.onClose(() => resolve());
      },
    } as ProtocolAcceptor;
    server.register('test', ['test'], acceptor, { maxPayload: 1024 * 1024, isDefault: true });
  });
  const port = await server.listen(0, '127.0.0.1');
  const client = new WebSocket(`ws://127.0.0.1:${port}`, ['test']);
  try {
    await once(client, 'open');
    // The client reads nothing: writes pile up over the high-water mark.
    (client as unknown as { _socket: { pause(): void } })._socket.pause();
    while (conn === undefined) await new Promise((r) => setImmediate(r));
    const chunk = Buffer.alloc(256 * 1024, 1);
    for (let i = 0; i < 16 && !conn.congested; i++) conn.write(chunk);
    assert.ok(conn.congested, 'the connection is congested');
    assert.notEqual(conn.slowTimer, undefined, 'the slow-consumer timer is armed');
    client.terminate();
    await closed;
    assert.equal(conn.slowTimer, undefined, 'the timer went with the connection');
  } finally {
    client.terminate();
    await server.close();
    guards.gate.close();
  }
});
