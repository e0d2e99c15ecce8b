/**
 * MQTT temperature sensors -> content-based router -> AMQP alert consumer and a readings queue.
 * The route is `routes/sensor-alerts.route.json`, deployed from this example's routes directory.
 *
 * Run from the project root: node --import tsx examples/sensor-routing/main.ts
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client, type IMessage } from '@stomp/stompjs';
import mqtt from 'mqtt';
import pino from 'pino';
import rhea, { type EventContext } from 'rhea';
import WebSocket from 'ws';
import { createBroker } from '../../src/index.ts';

const READINGS: Array<[sensor: number, celsius: number | null]> = [[1, 21.5], [2, 31.2], [3, 19], [1, 22], [2, 35.8], [3, null], [1, 23.1], [2, 29.9]];
const HOT = READINGS.filter(([, c]) => c !== null && c > 30).length;
const NORMAL = READINGS.filter(([, c]) => c !== null && c <= 30).length;

const dataDir = await mkdtemp(path.join(tmpdir(), 'junction-sensors-'));
const broker = await createBroker(
  { dataDir, routesDir: path.join(import.meta.dirname, 'routes'), ports: { stomp: 0, ws: 0, mqtt: 0, amqp: 0, http: 0 } },
  { logger: pino({ level: process.env.LOG_LEVEL ?? 'warn' }) },
);
console.log(`broker up: MQTT ${broker.ports.mqtt}, AMQP ${broker.ports.amqp}, STOMP-over-WebSocket ${broker.ports.ws}`);
console.log(`routes: ${broker.routes.list().map((r) => `${r.id} (${r.state})`).join(', ')}`);

// The alert consumer: an AMQP 1.0 client (rhea) on the broker's AMQP port.
const alerts: string[] = [];
const container = rhea.create_container({ id: 'alert-console' });
const amqp = container.connect({ host: '127.0.0.1', port: broker.ports.amqp!, reconnect: false });
amqp.on('disconnected', (ctx: EventContext) => ctx.error && console.error(`AMQP disconnected: ${ctx.error}`));
const receiver = amqp.open_receiver({ source: { address: 'alerts' } });
const alertsDone = new Promise<void>((resolve) => {
  receiver.on('message', (ctx: EventContext) => {
    const m = ctx.message!;
    const body = m.body?.content ? Buffer.from(m.body.content).toString() : String(m.body);
    const { celsius } = JSON.parse(body) as { celsius: number };
    console.log(`ALERT ${m.application_properties?.sensor}: ${celsius} ${m.application_properties?.unit}`);
    alerts.push(body);
    if (alerts.length === HOT) resolve();
  });
});
await new Promise<void>((resolve) => receiver.once('receiver_open', () => resolve()));

// The readings queue, read over STOMP.
const readings: string[] = [];
const stomp = new Client({ webSocketFactory: () => new WebSocket(`ws://127.0.0.1:${broker.ports.ws}`, ['v12.stomp']), heartbeatIncoming: 0, heartbeatOutgoing: 0, reconnectDelay: 0 });
const readingsDone = new Promise<void>((resolve) => {
  stomp.onConnect = () => {
    stomp.subscribe('/queue/readings', (m: IMessage) => {
      readings.push(m.body);
      if (readings.length === NORMAL) resolve();
    });
  };
});
stomp.activate();

// The devices: MQTT clients publishing at QoS 1 to sensors/<n>/temp.
const devices = new Map<number, mqtt.MqttClient>();
for (const [sensor, celsius] of READINGS) {
  let d = devices.get(sensor);
  if (!d) devices.set(sensor, (d = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker.ports.mqtt}`, { clientId: `sensor-${sensor}` })));
  await d.publishAsync(`sensors/${sensor}/temp`, JSON.stringify(celsius === null ? { error: 'probe offline' } : { celsius }), { qos: 1 });
}

await Promise.all([alertsDone, readingsDone]);
console.log(`readings queue: ${readings.length} normal readings`);
const s = broker.routes.stats('sensor-alerts');
console.log(`route sensor-alerts: completed ${s.completed}, failed ${s.failed}, dead-lettered ${s.deadLettered}`);

for (const d of devices.values()) await d.endAsync();
await stomp.deactivate();
await new Promise<void>((resolve) => {
  amqp.once('connection_close', () => resolve());
  amqp.close();
});
await broker.close();
await rm(dataDir, { recursive: true, force: true });
