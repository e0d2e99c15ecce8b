import { createLogger, type Logger } from '../log.ts';
import { ConfigSchema, type JunctionConfig } from '../config/schema.ts';
import { ConnectionGate } from './connection-gate.ts';
import { LogBurst } from './log-burst.ts';
import { OutboundPolicy } from './outbound-policy.ts';
import { ReadBudget } from './read-budget.ts';

/** What every listener applies to its connections (`connections` in the config); one set per broker. */
export interface TransportGuards {
  /** Connection caps over all listeners and per remote address. */
  readonly gate: ConnectionGate;
  /** Slow-consumer timeout and the outbound byte cap. */
  readonly outbound: OutboundPolicy;
  /** How long the WebSocket HTTP upgrade may take, ms. */
  readonly upgradeTimeout: number;
  /** Bytes of unfinished WebSocket messages over all WebSocket connections. */
  readonly partialMessages: ReadBudget;
  /** How long a WebSocket message may stay unfinished, ms. */
  readonly messageTimeout: number;
  /** Ports the listeners are bound to, by listener (`stomp`, `mqtt`, `amqp`, `ws`): a client on the wrong port is told the right one. */
  readonly ports: Map<string, number>;
  /** Bounds the lines about connections in another protocol (wrong-protocol.ts): a fleet of devices on the wrong port is not a line per connect. */
  readonly wrongProtocolLog: LogBurst;
  readonly log: Logger;
}

/** Connections in another protocol logged one by one per burst, before they are only counted (every 10 s). */
const WRONG_PROTOCOL_LINES = 100;
const WRONG_PROTOCOL_PERIOD = 10_000;

export function createTransportGuards(cfg: JunctionConfig['connections'], parent: Logger): TransportGuards {
  const log = parent.child({ component: 'transport' });
  return {
    gate: new ConnectionGate(cfg, log),
    outbound: new OutboundPolicy(cfg, log),
    upgradeTimeout: cfg.upgradeTimeout,
    partialMessages: new ReadBudget(cfg.maxPartialMessageBytes),
    messageTimeout: cfg.messageTimeout,
    ports: new Map(),
    wrongProtocolLog: new LogBurst(WRONG_PROTOCOL_LINES, WRONG_PROTOCOL_PERIOD, (counts, total) =>
      log.warn(
        { code: 'ERR_TRANSPORT_WRONG_PROTOCOL', closed: total, byListener: Object.fromEntries(counts), periodMs: WRONG_PROTOCOL_PERIOD },
        'connections in another protocol closed (counted, no longer logged one by one)',
      ),
    ),
    log,
  };
}

/** The default limits with a silent log, for a listener built outside a broker (protocol unit tests). */
export function defaultTransportGuards(): TransportGuards {
  return createTransportGuards(ConfigSchema.parse({}).connections, createLogger('silent'));
}
