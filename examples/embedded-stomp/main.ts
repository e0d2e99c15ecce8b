/**
 * Embedded Junction with a STOMP client: starts a broker inside this process (ActiveMQ's embedded
 * mode), sends persistent orders to a queue over STOMP, consumes them with client-individual acks,
 * and shows the queue statistics.
 *
 * Run from the project root: node --import tsx examples/embedded-stomp/main.ts
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client, type IMessage } from '@stomp/stompjs';
import pino from 'pino';
import WebSocket from 'ws';
import { createBroker } from '../../src/index.ts';

const ORDERS = 5;

const dataDir = await mkdtemp(path.join(tmpdir(), 'junction-example-'));
const broker = await createBroker(
  // Port 0: any free port (MQTT and AMQP listen too; this example does not use them).
  { dataDir, ports: { stomp: 0, ws: 0, mqtt: 0, amqp: 0, http: 0 } },
  { logger: pino({ level: process.env.LOG_LEVEL ?? 'warn' }) },
);
console.log(`broker up: STOMP on ${broker.ports.stomp}, WebSocket on ${broker.ports.ws}`);

const client = new Client({
  webSocketFactory: () => new WebSocket(`ws://127.0.0.1:${broker.ports.ws}`, ['v12.stomp']),
  heartbeatIncoming: 0,
  heartbeatOutgoing: 0,
  reconnectDelay: 0,
});

const received: string[] = [];
const done = new Promise<void>((resolve) => {
  client.onConnect = () => {
    client.subscribe(
      '/queue/orders',
      (m: IMessage) => {
        received.push(m.body);
        console.log(`received ${m.body} (message-id ${m.headers['message-id']})`);
        m.ack();
        if (received.length === ORDERS) resolve();
      },
      { ack: 'client-individual' },
    );
    for (let i = 1; i <= ORDERS; i++) {
      client.publish({ destination: '/queue/orders', body: `order-${i}`, headers: { persistent: 'true', region: 'eu' } });
    }
  };
});
client.activate();
await done;
await client.deactivate();

const stats = broker.core.queueStats().find((s) => s.name === 'orders');
console.log(`queue orders: enqueued ${stats?.enqueued}, acked ${stats?.acked}, left ${stats?.messages}`);
await broker.close();
await rm(dataDir, { recursive: true, force: true });
if (received.join(',') !== Array.from({ length: ORDERS }, (_, i) => `order-${i + 1}`).join(',')) process.exit(1);
