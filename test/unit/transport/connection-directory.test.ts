import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import pino from 'pino';
import { WebSocket } from 'ws';
import { ConfigSchema } from '../../../src/config/schema.ts';
import type { TransportConnection } from '../../../src/transport/connection.ts';
import { createConnectionDirectory, type ConnectionEvent } from '../../../src/transport/connection-directory.ts';
import type { AdapterName, ConnectionInfo, ProtocolAdapter } from '../../../src/transport/protocol-adapter.ts';
import { TcpServer } from '../../../src/transport/tcp-server.ts';
import { createTransportGuards } from '../../../src/transport/transport-guards.ts';
import { WsServer } from '../../../src/transport/ws-server.ts';

/** An adapter that keeps its connections and lists them with a fixed user and client id per protocol. */
function fakeAdapter(name: AdapterName, user: string): ProtocolAdapter & { conns: Map<number, TransportConnection>; closedWith: string[] } {
  const conns = new Map<number, TransportConnection>();
  const closedWith: string[] = [];
  return {
    name,
    ws: { subprotocols: [name], maxPayload: 1024, binary: true, isDefault: false },
    conns,
    closedWith,
    accept(c) {
      conns.set(c.id, c);
      c.onData(() => undefined);
      c.onClose(() => conns.delete(c.id));
    },
    shutdown() {},
    async close() {},
    listConnections(): ConnectionInfo[] {
      return [...conns.values()].map((c) => ({
        id: c.id,
        protocol: name,
        transport: c.kind,
        tls: c.tls !== undefined,
        remoteAddress: c.remoteAddress,
        user,
        clientId: `${name}-${c.id}`,
        connectedAt: c.connectedAt,
        bytesIn: c.bytesIn,
        bytesOut: c.bytesOut,
        subscriptions: [],
        producers: [],
      }));
    },
    closeConnection(id, reason) {
      const c = conns.get(id);
      if (!c) return false;
      closedWith.push(reason);
      c.destroy();
      return true;
    },
  };
}

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(cond(), what);
}

test('the directory counts, lists, filters, closes and reports events of every adapter', async () => {
  const log = pino({ level: 'silent' });
  const guards = createTransportGuards(ConfigSchema.parse({}).connections, log);
  const stomp = fakeAdapter('stomp', 'alice');
  const mqtt = fakeAdapter('mqtt', 'bob');
  const tcpStomp = new TcpServer(stomp, guards, 'stomp');
  const tcpMqtt = new TcpServer(mqtt, guards, 'mqtt');
  const ws = new WsServer(guards);
  ws.register('mqtt', ['mqtt'], mqtt, { maxPayload: 1024 });
  const warnings: unknown[] = [];
  const dir = createConnectionDirectory([stomp, mqtt], { warn: (o: unknown) => warnings.push(o) } as unknown as pino.Logger);
  const events: ConnectionEvent[] = [];
  const off = dir.onEvent((e) => events.push(e));
  // A throwing listener is caught (the others still hear) and logged once, whatever it throws on.
  const offBad = dir.onEvent(() => {
    throw new Error('listener bug');
  });
  const sockets: net.Socket[] = [];
  let client: WebSocket | undefined;
  try {
    const ps = await tcpStomp.listen(0, '127.0.0.1');
    const pm = await tcpMqtt.listen(0, '127.0.0.1');
    const pw = await ws.listen(0, '127.0.0.1');
    assert.deepEqual(dir.counts(), { stomp: 0, mqtt: 0, amqp: 0 });
    for (const port of [ps, ps, pm]) sockets.push(net.connect(port, '127.0.0.1'));
    client = new WebSocket(`ws://127.0.0.1:${pw}`, ['mqtt']);
    await until(() => dir.counts().stomp === 2 && dir.counts().mqtt === 2, 'two STOMP and two MQTT connections counted');
    assert.equal(dir.counts().amqp, 0);
    assert.deepEqual(dir.totals().stomp, { opened: 2, closed: 0 });

    const all = dir.list();
    assert.equal(all.length, 4);
    assert.deepEqual(all.map((c) => c.id), [...all.map((c) => c.id)].sort((a, b) => a - b), 'sorted by id');
    assert.deepEqual(dir.list({ protocol: 'mqtt' }).map((c) => c.transport).sort(), ['tcp', 'ws']);
    assert.equal(dir.list({ user: 'alice' }).length, 2);
    assert.equal(dir.list({ user: 'nobody' }).length, 0);
    const one = all[0]!;
    assert.deepEqual(dir.list({ clientId: one.clientId! }).map((c) => c.id), [one.id]);
    assert.equal(dir.get(one.id)?.id, one.id);
    assert.equal(dir.get(999_999), undefined);
    assert.ok(one.connectedAt > 0 && one.connectedAt <= Date.now());

    // Bytes: Node's own socket counters, as the peer wrote them.
    sockets[0]!.write(Buffer.alloc(100));
    const first = dir.list({ protocol: 'stomp' })[0]!;
    await until(() => dir.get(first.id)!.bytesIn >= 100, 'bytes in counted');
    stomp.conns.get(first.id)!.write(Buffer.alloc(50));
    await until(() => dir.get(first.id)!.bytesOut >= 50, 'bytes out counted');
    const wsInfo = dir.list({ protocol: 'mqtt' }).find((c) => c.transport === 'ws')!;
    assert.ok(wsInfo.bytesIn > 0, 'the WebSocket upgrade was read');

    assert.equal(dir.close(999_999, 'x'), false);
    assert.equal(dir.close(first.id, 'maintenance'), true);
    assert.deepEqual(stomp.closedWith, ['maintenance']);
    await until(() => dir.counts().stomp === 1, 'the closed connection leaves the count');
    assert.deepEqual(dir.totals().stomp, { opened: 2, closed: 1 });
    assert.equal(dir.get(first.id), undefined);
    assert.equal(dir.close(dir.list({ protocol: 'mqtt' })[0]!.id), true);
    assert.equal(mqtt.closedWith.length, 1, 'a default reason is given');

    const opened = events.filter((e) => e.type === 'opened');
    assert.equal(opened.length, 4);
    assert.deepEqual(opened.map((e) => e.protocol).sort(), ['mqtt', 'mqtt', 'stomp', 'stomp']);
    assert.ok(opened.every((e) => e.remoteAddress.startsWith('127.0.0.1:') && e.at > 0));
    await until(() => events.filter((e) => e.type === 'closed').length === 2, 'two closed events');
    assert.equal(warnings.length, 1, 'the throwing listener is logged once');

    off();
    offBad();
    sockets[1]!.destroy();
    await until(() => dir.counts().stomp === 0, 'counted without listeners too');
    assert.equal(events.filter((e) => e.type === 'closed').length, 2, 'an unsubscribed listener hears nothing');
  } finally {
    for (const s of sockets) s.destroy();
    client?.terminate();
    await ws.close();
    await tcpStomp.close();
    await tcpMqtt.close();
    guards.gate.close();
  }
});
