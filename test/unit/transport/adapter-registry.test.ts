import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AdapterRegistry } from '../../../src/transport/adapter-registry.ts';
import type { AdapterName, ProtocolAdapter, WsBinding } from '../../../src/transport/protocol-adapter.ts';
import { Listeners } from '../../../src/transport/listeners.ts';
import { defaultTransportGuards } from '../../../src/transport/transport-guards.ts';

// The broker registers one adapter per protocol; a name, a WebSocket subprotocol or the default
// WebSocket protocol claimed twice would leave one adapter unreachable, so it is refused.

function adapter(name: AdapterName, ws: Partial<WsBinding> = {}, events: string[] = []): ProtocolAdapter {
  return {
    name,
    ws: { subprotocols: [name], maxPayload: 1024, binary: true, isDefault: false, ...ws },
    accept() {},
    shutdown() {
      events.push(`${name} shutdown`);
    },
    async close() {
      events.push(`${name} close`);
    },
    listConnections: () => [],
    closeConnection: () => false,
  };
}

function refused(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (err: Error & { code?: string }) => {
    assert.equal(err.code, 'ERR_TRANSPORT_ADAPTER_CONFLICT');
    assert.match(err.message, pattern);
    return true;
  });
}

describe('AdapterRegistry', () => {
  test('keeps adapters in registration order', () => {
    const r = new AdapterRegistry();
    r.register(adapter('stomp', { isDefault: true }));
    r.register(adapter('mqtt'));
    r.register(adapter('amqp'));
    assert.deepEqual(r.adapters.map((a) => a.name), ['stomp', 'mqtt', 'amqp']);
  });

  test('refuses a second adapter of the same name', () => {
    const r = new AdapterRegistry();
    r.register(adapter('mqtt'));
    refused(() => r.register(adapter('mqtt', { subprotocols: ['other'] })), /protocol adapter mqtt: an adapter of this name is registered already/);
    assert.equal(r.adapters.length, 1);
  });

  test('refuses a WebSocket subprotocol another adapter has, naming both', () => {
    const r = new AdapterRegistry();
    r.register(adapter('mqtt', { subprotocols: ['mqtt', 'mqttv3.1'] }));
    refused(() => r.register(adapter('amqp', { subprotocols: ['amqp', 'mqttv3.1'] })), /protocol adapter amqp: WebSocket subprotocol 'mqttv3.1' belongs to mqtt/);
    // Nothing of the refused adapter stays: its other subprotocol is still free.
    r.register(adapter('stomp', { subprotocols: ['amqp'] }));
    assert.deepEqual(r.adapters.map((a) => a.name), ['mqtt', 'stomp']);
  });

  test('refuses a subprotocol listed twice by one adapter', () => {
    refused(() => new AdapterRegistry().register(adapter('stomp', { subprotocols: ['stomp', 'stomp'] })), /listed twice/);
  });

  test('refuses a second default WebSocket protocol', () => {
    const r = new AdapterRegistry();
    r.register(adapter('stomp', { isDefault: true }));
    refused(() => r.register(adapter('mqtt', { isDefault: true })), /stomp is the default WebSocket protocol already/);
  });
});

describe('Listeners', () => {
  test('a conflicting adapter is refused before it gets a listener', async () => {
    const l = new Listeners(defaultTransportGuards());
    const port = await l.listen(adapter('stomp'), 0, '127.0.0.1');
    assert.ok(port > 0);
    assert.throws(() => l.listen(adapter('stomp', { subprotocols: ['x'] }), 0, '127.0.0.1'), /ERR_TRANSPORT_ADAPTER_CONFLICT|registered already/);
    assert.deepEqual(l.adapters.map((a) => a.name), ['stomp']);
    await l.close();
  });

  test('close: every shutdown (last registered first), then each adapter\'s close, last registered first', async () => {
    const events: string[] = [];
    const l = new Listeners(defaultTransportGuards());
    for (const name of ['stomp', 'mqtt', 'amqp'] as const) await l.listen(adapter(name, { isDefault: name === 'stomp' }, events), 0, '127.0.0.1');
    await l.listenWs(0, '127.0.0.1');
    await l.close();
    assert.deepEqual(events, ['amqp shutdown', 'mqtt shutdown', 'stomp shutdown', 'amqp close', 'mqtt close', 'stomp close']);
  });
});
