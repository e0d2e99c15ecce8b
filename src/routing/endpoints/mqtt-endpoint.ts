import mqtt, { type IClientPublishOptions, type MqttClient } from 'mqtt';
import type { Destination } from '../../core/message.ts';
import { coreToMqtt5, remotePublishToCore, type Mqtt5PublishProperties } from '../../interop/mqtt-message.ts';
import { JunctionError } from '../../errors.ts';
import { createExchange } from '../exchange.ts';
import type { Log } from '../../core/ports/log.ts';
import type { Exchange, ExchangeMessage, Producer } from '../types.ts';
import { fromMessageInput, toCoreMessage } from './envelope.ts';
import { PendingSends, type PendingSend } from './pending-sends.ts';
import { RemoteStatus } from './remote-status.ts';
import type { Source } from './source.ts';
import type { EndpointUri, RemoteTarget } from './endpoint-uri.ts';
import { tlsConnectOptions } from './remote-tls.ts';

/**
 * The core destination of a remote message: none. The remote's topics are its own names (any
 * valid MQTT topic, `living room/temp` too), not core addresses; only the exchange's URI says
 * where a message came from or goes, and the mappers read no destination for MQTT 5 properties.
 */
const REMOTE: Destination = { type: 'topic', name: '' };

/** A parsed `mqtt://` or `mqtts://` endpoint. */
export type MqttTarget = Extract<EndpointUri, { scheme: 'mqtt' }>;

/** An MQTT.js client for `target` (`mqtts://`: over TLS with its options; credentials from the URI). */
function connect(target: RemoteTarget, clientId: string, clean: boolean): MqttClient {
  const options = target.options;
  const tls = tlsConnectOptions(target);
  return mqtt.connect({
    host: target.host,
    port: target.port,
    protocol: tls ? 'mqtts' : 'mqtt',
    ...tls,
    clientId,
    clean,
    reconnectPeriod: Number(options.get('reconnectPeriod') ?? 1000),
    // MQTT 5 (`?protocolVersion=5`) carries the message's properties; 3.1.1 only topic, QoS and payload.
    protocolVersion: options.get('protocolVersion') === '5' ? 5 : 4,
    connectTimeout: 10_000,
    ...(target.credentials ? { username: target.credentials.username, password: target.credentials.password } : {}),
  });
}

/**
 * `mqtt://host:port/topic/filter` as a source: a persistent session (clean=false, client id
 * `junction-route-<id>`) subscribed at QoS 1 (`?qos=0` for at-most-once). MQTT.js sends the PUBACK
 * when `handleMessage` calls back, which this source does only once the exchange is settled:
 * at-least-once, one message at a time (MQTT.js handles incoming publishes in order).
 */
export class MqttSource implements Source {
  /** The URI as shown: secrets masked (endpoint-uri.ts redactUri). */
  readonly uri: string;
  private readonly target: MqttTarget;
  private readonly host: string;
  private readonly port: number;
  private readonly topic: string;
  private readonly options: URLSearchParams;
  private readonly routeId: string;
  private readonly log: Log;
  private client: MqttClient | undefined;

  private readonly status: RemoteStatus;

  constructor(uri: string, target: MqttTarget, routeId: string, log: Log) {
    this.status = new RemoteStatus(log, { route: routeId, endpoint: target.endpoint, role: 'from' });
    this.uri = uri;
    this.target = target;
    this.host = target.host;
    this.port = target.port;
    this.topic = target.topic;
    this.options = target.options;
    this.routeId = routeId;
    this.log = log;
  }

  async start(emit: (ex: Exchange) => void): Promise<void> {
    const client = connect(this.target, this.options.get('clientId') ?? `junction-route-${this.routeId}`, false);
    this.client = client;
    const qos = this.options.get('qos') === '0' ? 0 : 1;
    client.handleMessage = (packet, callback) => {
      const now = Date.now();
      const input = remotePublishToCore(packet, REMOTE, now);
      // The response topic is a topic of the remote broker: kept as it gave it (src/routing/types.ts).
      const responseTopic = (packet.properties as Mqtt5PublishProperties | undefined)?.responseTopic;
      const ex = createExchange({
        routeId: this.routeId,
        message: fromMessageInput(input, `${this.target.tls ? 'mqtts' : 'mqtt'}://${this.host}:${this.port}/${packet.topic}`, typeof responseTopic === 'string' && responseTopic !== '' ? responseTopic : undefined, now),
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
          this.status.close();
          client.end(true);
        },
      });
      emit(ex);
    };
    client.on('connect', () => {
      this.status.connected();
      client.subscribe(this.topic, { qos }, (err) => {
        if (err) this.log.error({ err, route: this.routeId, topic: this.topic }, 'MQTT subscribe failed');
      });
    });
    watchConnection(client, this.status, this.log);
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
    this.status.close();
    if (c) await c.endAsync(true);
  }
}

/**
 * Connection failures of an MQTT.js client into a {@link RemoteStatus}: MQTT.js emits `error`
 * (ECONNREFUSED, a refused CONNACK) and `close` at every failed reconnect attempt; the status logs
 * the first only. An error on a connected client is not about the connection: logged as it comes.
 */
function watchConnection(client: MqttClient, status: RemoteStatus, log: Log): void {
  client.on('error', (err) => {
    if (!client.connected) status.failed(err);
    else log.warn({ ...status.fields, reason: err.message }, 'remote endpoint error');
  });
  client.on('close', () => status.failed(undefined));
}

/**
 * `mqtt://host:port/topic` as a destination: a QoS 1 publish, resolved on PUBACK (`?qos=0`,
 * `?retain=true`: resolved once written). A send waits for the connection in order, then for the
 * PUBACK, all within `sendTimeout`; past it the send fails (the step's redelivery, then the
 * dead-letter channel) and the publish is taken out of MQTT.js's outgoing store, so it is not
 * sent again on reconnect behind the route's back.
 */
export class MqttProducer implements Producer {
  readonly uri: string;
  private readonly topic: string;
  private readonly qos: 0 | 1;
  private readonly retain: boolean;
  /** MQTT 5: each publish carries the message's properties (interop/mqtt-message.ts). */
  private readonly v5: boolean;
  private readonly client: MqttClient;
  /** Sends waiting for the connection, oldest first (entries that timed out are skipped). */
  private readonly queued: Array<PendingSend<ExchangeMessage>> = [];
  private readonly pending: PendingSends<ExchangeMessage>;
  private readonly status: RemoteStatus;

  constructor(uri: string, target: MqttTarget, log: Log, sendTimeout: number, routeId: string) {
    const { topic, options, endpoint } = target;
    this.uri = uri;
    this.topic = topic;
    this.qos = options.get('qos') === '0' ? 0 : 1;
    this.retain = options.get('retain') === 'true';
    this.v5 = options.get('protocolVersion') === '5';
    this.status = new RemoteStatus(log, { route: routeId, endpoint, role: 'to' });
    this.pending = new PendingSends(sendTimeout, uri, (p) => {
      if (typeof p.handle === 'number') this.client.removeOutgoingMessage(p.handle);
      // Deadlines pass in the order sends came, so what timed out waiting is the queue's head.
      while (this.queued.length > 0 && this.queued[0]!.done) this.queued.shift();
    });
    this.client = connect(target, options.get('clientId') ?? `junction-out-${Math.random().toString(36).slice(2, 10)}`, true);
    this.client.on('connect', () => {
      this.status.connected();
      this.flush();
    });
    watchConnection(this.client, this.status, log);
  }

  send(ex: Exchange): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const p = this.pending.add(ex.message, resolve, reject);
      // Offline, MQTT.js would hold the publish with no end: the route holds it instead, with its deadline.
      if (this.queued.length === 0 && this.client.connected) this.publish(p);
      else this.queued.push(p);
    });
  }

  private publish(p: PendingSend<ExchangeMessage>): void {
    const done = (err?: Error) => (err ? this.pending.reject(p, new JunctionError('ERR_ROUTE_ENDPOINT', `${this.uri}: ${err.message}`)) : this.pending.resolve(p));
    const m = p.item;
    const opts: IClientPublishOptions = { qos: this.qos, retain: this.retain };
    if (this.v5) opts.properties = coreToMqtt5(toCoreMessage(m, REMOTE), Date.now());
    this.client.publish(this.topic, m.body, opts, done);
    if (this.qos === 0 || p.done) return;
    // The packet id MQTT.js gave this publish, so a timeout can withdraw it; taken only if it is
    // this publish's own entry (MQTT.js queues a publish while it replays its store after a reconnect).
    const id = this.client.getLastMessageId();
    const outgoing = (this.client as unknown as { outgoing: Record<number, { cb: unknown } | undefined> }).outgoing;
    if (outgoing[id]?.cb === done) p.handle = id;
  }

  /** Connected (again): publishes what waited, in order. */
  private flush(): void {
    let i = 0;
    while (i < this.queued.length && this.client.connected) {
      const p = this.queued[i++]!;
      if (!p.done) this.publish(p);
    }
    this.queued.splice(0, i);
  }

  async close(): Promise<void> {
    this.pending.rejectAll(new JunctionError('ERR_ROUTE_ENDPOINT', `${this.uri}: endpoint closed before the outcome`));
    this.queued.length = 0;
    this.status.close();
    await this.client.endAsync(true);
  }
}
