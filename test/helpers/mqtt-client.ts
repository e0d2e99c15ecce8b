import assert from 'node:assert/strict';
import mqtt, { type IClientOptions, type IPublishPacket, type MqttClient } from 'mqtt';
import type { Broker } from '../../src/broker.ts';

export type MqttTransport = 'tcp' | 'ws';

/** Both transports, for tests that run once over each. */
export const TRANSPORTS: MqttTransport[] = ['tcp', 'ws'];

/** The broker URL for MQTT.js over TCP or WebSocket (subprotocol `mqtt`, MQTT.js's default). */
export function mqttUrl(broker: Pick<Broker, 'ports'>, transport: MqttTransport = 'tcp'): string {
  return transport === 'tcp' ? `mqtt://127.0.0.1:${broker.ports.mqtt}` : `ws://127.0.0.1:${broker.ports.ws}`;
}

/** A received message, simplified. */
export interface Received {
  topic: string;
  payload: Buffer;
  qos: number;
  retain: boolean;
  dup: boolean;
}

/** An MQTT.js 3.1.1 client that records what it receives and lets a test await it. */
export class TestMqttClient {
  readonly client: MqttClient;
  readonly received: Received[] = [];
  private waiters: Array<() => void> = [];

  private constructor(client: MqttClient) {
    this.client = client;
    client.on('message', (topic, payload, packet: IPublishPacket) => {
      this.received.push({ topic, payload: Buffer.from(payload), qos: packet.qos, retain: packet.retain, dup: packet.dup });
      const ws = this.waiters;
      this.waiters = [];
      for (const w of ws) w();
    });
  }

  /** Connects (no reconnects: a test sees a closed connection as closed). */
  static async connect(broker: Pick<Broker, 'ports'>, opts: IClientOptions & { transport?: MqttTransport } = {}): Promise<TestMqttClient> {
    const { transport, ...rest } = opts;
    const client = await mqtt.connectAsync(mqttUrl(broker, transport), { protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 10_000, ...rest });
    return new TestMqttClient(client);
  }

  /** Payloads received so far, as text. */
  get texts(): string[] {
    return this.received.map((m) => m.payload.toString());
  }

  /** Resolves once `n` messages have arrived in all; rejects after `timeout` ms rather than hang. */
  async count(n: number, timeout = 5000): Promise<Received[]> {
    const deadline = Date.now() + timeout;
    while (this.received.length < n) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`expected ${n} MQTT messages, got ${this.received.length}: ${JSON.stringify(this.texts)}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return this.received.slice(0, n);
  }

  async subscribe(filter: string | string[], qos: 0 | 1 | 2 = 1): Promise<number[]> {
    const granted = await this.client.subscribeAsync(filter, { qos });
    return granted.map((g) => g.qos);
  }

  publish(topic: string, payload: string | Buffer, opts: { qos?: 0 | 1 | 2; retain?: boolean } = {}): Promise<unknown> {
    return this.client.publishAsync(topic, payload, { qos: opts.qos ?? 0, retain: opts.retain ?? false });
  }

  /** Clean DISCONNECT. */
  async end(): Promise<void> {
    await this.client.endAsync();
  }

  /** Drops the connection without DISCONNECT (an abrupt close: the will is published). */
  async drop(): Promise<void> {
    await this.client.endAsync(true);
  }
}

/**
 * Sends a message through a second path and waits for it: once it arrives, everything the broker
 * routed to `c` before it has arrived too (per-subscription order). A way to assert that nothing
 * else came without sleeping.
 */
export async function flush(pub: TestMqttClient, sub: TestMqttClient, topic: string): Promise<void> {
  const marker = `flush-${Math.random().toString(36).slice(2)}`;
  const before = sub.received.length;
  await pub.publish(topic, marker, { qos: 1 });
  const deadline = Date.now() + 5000;
  while (!sub.received.slice(before).some((m) => m.payload.toString() === marker)) {
    if (Date.now() > deadline) throw new Error('flush marker did not arrive');
    await sub.count(sub.received.length + 1, 5000);
  }
  // Drop the marker, so tests see only their own messages.
  const i = sub.received.findIndex((m, k) => k >= before && m.payload.toString() === marker);
  sub.received.splice(i, 1);
}

/**
 * Runs `fn` (an attack) between a bystander's SUBSCRIBE and its PUBLISH on a topic of its own, and
 * checks the bystander still gets its QoS 1 message: the broker kept serving others meanwhile.
 */
export async function withMqttBystander(broker: Pick<Broker, 'ports'>, fn: () => Promise<void>): Promise<void> {
  const id = Math.random().toString(36).slice(2, 10);
  const topic = `by/${id}`;
  const sub = await TestMqttClient.connect(broker, { clientId: `by-${id}` });
  const pub = await TestMqttClient.connect(broker, { clientId: `bp-${id}` });
  await sub.subscribe(topic, 1);
  await fn();
  await pub.publish(topic, 'still fine', { qos: 1 });
  const [m] = await sub.count(1);
  assert.equal(m!.payload.toString(), 'still fine');
  await Promise.all([sub.end(), pub.end()]);
}
