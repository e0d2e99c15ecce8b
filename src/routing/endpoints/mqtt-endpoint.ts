import mqtt, { type MqttClient } from 'mqtt';
import { createExchange } from '../exchange.ts';
import type { Exchange, Producer, RouteLog } from '../types.ts';
import type { Source } from './source.ts';

function connect(host: string, port: number, clientId: string, clean: boolean, options: URLSearchParams): MqttClient {
  return mqtt.connect({
    host,
    port,
    protocol: 'mqtt',
    clientId,
    clean,
    reconnectPeriod: Number(options.get('reconnectPeriod') ?? 1000),
    connectTimeout: 10_000,
    ...(options.get('username') !== null ? { username: options.get('username')!, password: options.get('password') ?? '' } : {}),
  });
}

/**
 * `mqtt://host:port/topic/filter` as a source: a persistent session (clean=false, client id
 * `junction-route-<id>`) subscribed at QoS 1 (`?qos=0` for at-most-once). MQTT.js sends the PUBACK
 * when `handleMessage` calls back, which this source does only once the exchange is settled:
 * at-least-once, one message at a time (MQTT.js handles incoming publishes in order).
 */
export class MqttSource implements Source {
  readonly uri: string;
  private readonly host: string;
  private readonly port: number;
  private readonly topic: string;
  private readonly options: URLSearchParams;
  private readonly routeId: string;
  private readonly log: RouteLog;
  private client: MqttClient | undefined;

  constructor(uri: string, host: string, port: number, topic: string, options: URLSearchParams, routeId: string, log: RouteLog) {
    this.uri = uri;
    this.host = host;
    this.port = port;
    this.topic = topic;
    this.options = options;
    this.routeId = routeId;
    this.log = log;
  }

  async start(emit: (ex: Exchange) => void): Promise<void> {
    const client = connect(this.host, this.port, this.options.get('clientId') ?? `junction-route-${this.routeId}`, false, this.options);
    this.client = client;
    const qos = this.options.get('qos') === '0' ? 0 : 1;
    client.handleMessage = (packet, callback) => {
      const ex = createExchange({
        routeId: this.routeId,
        message: {
          body: Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload),
          bodyType: 'bytes',
          headers: { mqttTopic: packet.topic, mqttQos: packet.qos, mqttRetain: packet.retain },
          durable: packet.qos > 0,
          destination: `mqtt://${this.host}:${this.port}/${packet.topic}`,
          timestamp: Date.now(),
        },
        onSettled: (o) => {
          if (o.kind === 'ack') return callback();
          if (o.kind === 'nack') {
            // MQTT has no negative acknowledgement and brokers no dead-letter queue: redelivering a
            // poison message would loop forever. As Camel's default error handler, log and go on;
            // a route that must keep failures has a deadLetter error handler.
            this.log.error({ route: this.routeId, topic: packet.topic, err: o.error.message }, 'MQTT message failed in the route and is dropped (no dead-letter channel)');
            return callback();
          }
          // Released (the route is stopping): no PUBACK, so the persistent session redelivers it.
          client.end(true);
        },
      });
      emit(ex);
    };
    client.on('connect', () => {
      client.subscribe(this.topic, { qos }, (err) => {
        if (err) this.log.error({ err, route: this.routeId, topic: this.topic }, 'MQTT subscribe failed');
      });
    });
    client.on('error', (err) => this.log.warn({ err, route: this.routeId, uri: this.uri }, 'MQTT source error'));
  }

  pause(): void {
    this.client?.stream?.pause();
  }

  resume(): void {
    this.client?.stream?.resume();
  }

  async stop(): Promise<void> {
    const c = this.client;
    this.client = undefined;
    if (c) await c.endAsync(true);
  }
}

/** `mqtt://host:port/topic` as a destination: a QoS 1 publish, resolved on PUBACK (`?qos=0`, `?retain=true`). */
export class MqttProducer implements Producer {
  readonly uri: string;
  private readonly topic: string;
  private readonly qos: 0 | 1;
  private readonly retain: boolean;
  private readonly client: MqttClient;

  constructor(uri: string, host: string, port: number, topic: string, options: URLSearchParams, log: RouteLog) {
    this.uri = uri;
    this.topic = topic;
    this.qos = options.get('qos') === '0' ? 0 : 1;
    this.retain = options.get('retain') === 'true';
    this.client = connect(host, port, options.get('clientId') ?? `junction-out-${Math.random().toString(36).slice(2, 10)}`, true, options);
    this.client.on('error', (err) => log.warn({ err, uri }, 'MQTT producer error'));
  }

  async send(ex: Exchange): Promise<void> {
    await this.client.publishAsync(this.topic, ex.message.body, { qos: this.qos, retain: this.retain });
  }

  async close(): Promise<void> {
    await this.client.endAsync(true);
  }
}
