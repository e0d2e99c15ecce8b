import type { ManagementContext } from '../../../src/management/context.ts';
import type { BrokerTotals, QueueStats } from '../../../src/core/handles.ts';
import type { JournalStats } from '../../../src/store/journal/journal-types.ts';
import type { StepStats } from '../../../src/routing/route-telemetry.ts';
import type { ConnectionEvent } from '../../../src/transport/connection-directory.ts';

/** Mutable broker state a fake management context reads (unit tests of the sampler and the metrics). */
export interface FakeState {
  totals: BrokerTotals;
  memory: { limitBytes: number; usedBytes: number; blockedSends: number; dropped: number };
  connections: { stomp: number; mqtt: number; amqp: number };
  opened: { stomp: number; mqtt: number; amqp: number };
  queues: QueueStats[];
  routes: Array<{ id: string; state: string; stats: { completed: number; failed: number; released: number; inFlight: number; deadLettered: number; redeliveries: number; meanMs: number; maxMs: number }; steps: StepStats[] }>;
  journal: JournalStats | undefined;
  addresses: Array<{ name: string; routing: 'anycast' | 'multicast'; queues: string[]; temporary: boolean; autoCreated: boolean }>;
  listeners: Set<(e: ConnectionEvent) => void>;
}

export function fakeTotals(over: Partial<BrokerTotals> = {}): BrokerTotals {
  return { messages: 0, bytes: 0, paged: 0, inDelivery: 0, enqueued: 0, acked: 0, expired: 0, deadLettered: 0, sent: 0, unrouted: 0, queues: 0, topics: 0, consumers: 0, ...over };
}

export function fakeQueue(name: string, over: Partial<QueueStats> = {}): QueueStats {
  return { name, kind: 'anycast', durable: true, messages: 0, paged: 0, inDelivery: 0, scheduled: 0, consumers: 0, enqueued: 0, acked: 0, expired: 0, deadLettered: 0, bytes: 0, paused: false, ...over };
}

/** A ManagementContext over `state` (only what telemetry and metrics read is real). */
export function fakeContext(state: Partial<FakeState> = {}): { ctx: ManagementContext; state: FakeState; logs: Array<{ level: string; msg: string | undefined; obj: object }> } {
  const s: FakeState = {
    totals: fakeTotals(),
    memory: { limitBytes: -1, usedBytes: 0, blockedSends: 0, dropped: 0 },
    connections: { stomp: 0, mqtt: 0, amqp: 0 },
    opened: { stomp: 0, mqtt: 0, amqp: 0 },
    queues: [],
    routes: [],
    journal: undefined,
    addresses: [],
    listeners: new Set(),
    ...state,
  };
  const logs: Array<{ level: string; msg: string | undefined; obj: object }> = [];
  const log = Object.fromEntries(['debug', 'info', 'warn', 'error', 'trace', 'fatal'].map((level) => [level, (obj: object, msg?: string) => void logs.push({ level, msg, obj })]));
  const ctx = {
    version: '0.0.0-test',
    startedAt: Date.now() - 5000,
    config: { globalMaxSizeBytes: s.memory.limitBytes, http: { maxSseClients: 2, metrics: { public: false, maxQueueSeries: 500 } } },
    core: {
      totals: () => s.totals,
      memory: () => s.memory,
      queueStats: () => s.queues,
      addressList: () => s.addresses,
    },
    routes: {
      list: () => s.routes.map((r) => ({ id: r.id, state: r.state, stats: r.stats })),
      stepStats: (id: string) => s.routes.find((r) => r.id === id)!.steps,
    },
    connections: {
      counts: () => s.connections,
      totals: () => Object.fromEntries(Object.entries(s.opened).map(([k, v]) => [k, { opened: v, closed: 0 }])),
      onEvent: (cb: (e: ConnectionEvent) => void) => {
        s.listeners.add(cb);
        return () => void s.listeners.delete(cb);
      },
    },
    security: undefined,
    journalStats: () => s.journal,
    ports: () => ({ stomp: 61613 }),
    readiness: () => [],
    reload: async () => {},
    log,
  } as unknown as ManagementContext;
  return { ctx, state: s, logs };
}
