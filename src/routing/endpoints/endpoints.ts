import type { Core } from '../../core/core.ts';
import { DEFAULT_SEND_TIMEOUT } from '../definition.ts';
import type { Log } from '../../core/ports/log.ts';
import type { Producer } from '../types.ts';
import { AmqpProducer, AmqpSource } from './amqp-endpoint.ts';
import { CoreProducer, CoreSource, ROUTE_ORIGIN } from './core-endpoint.ts';
import type { Origin } from '../../core/reserved.ts';
import { checkEndpoint, redactUri } from './endpoint-uri.ts';
import { LogProducer } from './log-producer.ts';
import { MqttProducer, MqttSource } from './mqtt-endpoint.ts';
import type { Source } from './source.ts';
import { TimerSource } from './timer-source.ts';

type Closable = Producer & { close?(): Promise<void> };

/** How many producers for URIs computed at run time (recipient list) a route keeps open (Camel's ProducerCache size). */
export const DYNAMIC_PRODUCER_CACHE = 1000;

/**
 * The endpoints one route uses: its source and a cached producer per URI, closed with the route.
 * Producers made once the route is compiled (`seal`) are for URIs taken from messages: they are
 * kept in a bounded least-recently-used cache, so messages naming ever new endpoints cannot grow
 * the route's memory or its connections without limit.
 */
export class RouteEndpoints {
  private readonly core: Core;
  private readonly routeId: string;
  private readonly log: Log;
  private readonly producers = new Map<string, Closable>();
  /** Run-time producers, least recently used first. */
  private readonly dynamic = new Map<string, Closable>();
  private readonly dynamicLimit: number;
  /** The route's `sendTimeout`: how long a remote producer's send may wait, unless its URI says (`?sendTimeout=`). */
  private readonly sendTimeout: number;
  /** Who the route's broker endpoints act as (the subject of its `runAs` user, security on). */
  private readonly identity: Origin;
  private sealed = false;

  constructor(core: Core, routeId: string, log: Log, dynamicLimit = DYNAMIC_PRODUCER_CACHE, sendTimeout = DEFAULT_SEND_TIMEOUT, identity: Origin = ROUTE_ORIGIN) {
    this.core = core;
    this.identity = identity;
    this.routeId = routeId;
    this.log = log;
    this.dynamicLimit = dynamicLimit;
    this.sendTimeout = sendTimeout;
  }

  /** The route is compiled: producers asked for from now on are run-time ones. */
  seal(): void {
    this.sealed = true;
  }

  /** How many producers are open (tests). */
  get size(): number {
    return this.producers.size + this.dynamic.size;
  }

  source(uri: string, maxInflight: number): Source {
    const e = checkEndpoint(uri, 'from');
    switch (e.scheme) {
      case 'queue':
      case 'topic':
        return new CoreSource(this.core, `${e.scheme}:${e.name}`, this.routeId, maxInflight, this.log, this.identity);
      case 'mqtt':
        return new MqttSource(redactUri(uri), e, this.routeId, this.log);
      case 'amqp':
        return new AmqpSource(redactUri(uri), e, this.routeId, maxInflight, this.log);
      case 'timer':
        return new TimerSource(uri, e.name, e.period, e.options, this.routeId, maxInflight);
      default:
        throw new Error(`unreachable: ${uri}`);
    }
  }

  /** A producer for `uri`, created on first use (remote ones connect then). */
  producer(uri: string): Producer {
    const cached = this.producers.get(uri);
    if (cached) return cached;
    const recent = this.dynamic.get(uri);
    if (recent) {
      this.dynamic.delete(uri);
      this.dynamic.set(uri, recent);
      return recent;
    }
    const p = this.create(uri);
    if (!this.sealed) {
      this.producers.set(uri, p);
      return p;
    }
    this.dynamic.set(uri, p);
    if (this.dynamic.size > this.dynamicLimit) {
      const [oldUri, old] = this.dynamic.entries().next().value!;
      this.dynamic.delete(oldUri);
      void this.closeOne(old);
    }
    return p;
  }

  private create(uri: string): Closable {
    const e = checkEndpoint(uri, 'to');
    let p: Closable;
    switch (e.scheme) {
      case 'queue':
      case 'topic':
        p = new CoreProducer(this.core, `${e.scheme}:${e.name}`, this.identity);
        break;
      case 'mqtt':
        p = new MqttProducer(redactUri(uri), e, this.log, e.sendTimeout ?? this.sendTimeout, this.routeId);
        break;
      case 'amqp':
        p = new AmqpProducer(redactUri(uri), e, this.log, e.sendTimeout ?? this.sendTimeout, this.routeId);
        break;
      case 'log':
        p = new LogProducer(uri, e.name, e.options, this.log);
        break;
      default:
        throw new Error(`unreachable: ${uri}`);
    }
    return p;
  }

  private async closeOne(p: Closable): Promise<void> {
    await p.close?.().catch((err: unknown) => this.log.warn({ err, uri: p.uri }, 'closing a route producer failed'));
  }

  async close(): Promise<void> {
    const all = [...this.producers.values(), ...this.dynamic.values()];
    this.producers.clear();
    this.dynamic.clear();
    await Promise.all(all.map((p) => this.closeOne(p)));
  }
}
