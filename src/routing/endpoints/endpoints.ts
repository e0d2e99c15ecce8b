import type { Core } from '../../core/core.ts';
import type { Producer, RouteLog } from '../types.ts';
import { AmqpProducer, AmqpSource } from './amqp-endpoint.ts';
import { CoreProducer, CoreSource } from './core-endpoint.ts';
import { checkEndpoint } from './endpoint-uri.ts';
import { LogProducer } from './log-producer.ts';
import { MqttProducer, MqttSource } from './mqtt-endpoint.ts';
import type { Source } from './source.ts';
import { TimerSource } from './timer-source.ts';

type Closable = Producer & { close?(): Promise<void> };

/** The endpoints one route uses: its source and a cached producer per URI, closed with the route. */
export class RouteEndpoints {
  private readonly core: Core;
  private readonly routeId: string;
  private readonly log: RouteLog;
  private readonly producers = new Map<string, Closable>();

  constructor(core: Core, routeId: string, log: RouteLog) {
    this.core = core;
    this.routeId = routeId;
    this.log = log;
  }

  source(uri: string, maxInflight: number): Source {
    const e = checkEndpoint(uri, 'from');
    switch (e.scheme) {
      case 'queue':
      case 'topic':
        return new CoreSource(this.core, `${e.scheme}:${e.name}`, this.routeId, maxInflight, this.log);
      case 'mqtt':
        return new MqttSource(uri, e.host, e.port, e.topic, e.options, this.routeId, this.log);
      case 'amqp':
        return new AmqpSource(uri, e.host, e.port, e.address, e.options, this.routeId, maxInflight, this.log);
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
    const e = checkEndpoint(uri, 'to');
    let p: Closable;
    switch (e.scheme) {
      case 'queue':
      case 'topic':
        p = new CoreProducer(this.core, `${e.scheme}:${e.name}`);
        break;
      case 'mqtt':
        p = new MqttProducer(uri, e.host, e.port, e.topic, e.options, this.log);
        break;
      case 'amqp':
        p = new AmqpProducer(uri, e.host, e.port, e.address, e.options, this.log);
        break;
      case 'log':
        p = new LogProducer(uri, e.name, e.options, this.log);
        break;
      default:
        throw new Error(`unreachable: ${uri}`);
    }
    this.producers.set(uri, p);
    return p;
  }

  async close(): Promise<void> {
    const all = [...this.producers.values()];
    this.producers.clear();
    await Promise.all(all.map((p) => p.close?.().catch((err: unknown) => this.log.warn({ err, uri: p.uri }, 'closing a route producer failed'))));
  }
}
