import { z } from 'zod';

const port = z.number().int().min(0).max(65535);

const addressSettings = z.strictObject({
  maxDeliveryAttempts: z.number().int().min(1).optional(),
  redeliveryDelay: z.number().int().min(0).optional(),
  redeliveryMultiplier: z.number().min(1).optional(),
  maxRedeliveryDelay: z.number().int().min(0).optional(),
  deadLetterAddress: z.string().optional(),
  expiryAddress: z.string().optional(),
  maxSizeBytes: z.number().int().min(-1).optional(),
  addressFullPolicy: z.enum(['PAGE', 'BLOCK', 'FAIL', 'DROP']).optional(),
  autoCreate: z.boolean().optional(),
  autoDelete: z.boolean().optional(),
  lastValueKey: z.string().optional(),
  defaultPriority: z.number().int().min(0).max(9).optional(),
});

/** The one configuration schema: `junction.json`, flags and `JUNCTION_*` variables all land here. */
export const ConfigSchema = z.strictObject({
  /** Broker name, used in message ids and logs. */
  name: z.string().regex(/^[A-Za-z0-9_.-]+$/).default('junction'),
  dataDir: z.string().min(1).default('./data'),
  host: z.string().min(1).default('127.0.0.1'),
  ports: z
    .strictObject({
      mqtt: port.default(1883),
      amqp: port.default(5672),
      stomp: port.default(61613),
      ws: port.default(61614),
      http: port.default(8161),
    })
    .prefault({}),
  routesDir: z.string().default('./routes'),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  store: z
    .strictObject({
      /** `journal`: the embedded append-only journal in `<dataDir>/journal` (persistent). `memory`: nothing survives a restart. */
      type: z.enum(['journal', 'memory']).default('journal'),
      /** `always` (confirm after fdatasync), `interval:<ms>` (fsync every ms), `never` (OS decides; tests and benchmarks). */
      sync: z
        .string()
        .regex(/^(always|never|interval:\d+)$/, 'expected always, never or interval:<ms>')
        .default('always'),
      segmentSize: z.number().int().min(64 * 1024).default(32 * 1024 * 1024),
      /** Compact when live bytes / journal bytes falls below this. */
      compactThreshold: z.number().min(0).max(1).default(0.5),
      /** Skip corrupt records in the middle of the journal instead of refusing to start. */
      recoverSkipCorrupt: z.boolean().default(false),
    })
    .prefault({}),
  stomp: z
    .strictObject({
      maxHeaderBytes: z.number().int().min(256).default(10 * 1024),
      maxHeaders: z.number().int().min(1).default(1000),
      maxBodyBytes: z.number().int().min(1).default(4 * 1024 * 1024),
      /** NACK dead-letters at once (ActiveMQ's poison ack), or returns the message for redelivery. */
      nackPolicy: z.enum(['deadLetter', 'redeliver']).default('deadLetter'),
      /** Heart-beat the server offers, `cx,cy` in ms (STOMP 1.1+). */
      heartBeat: z.tuple([z.number().int().min(0), z.number().int().min(0)]).default([10000, 10000]),
      /** Default prefetch of a subscription without `activemq.prefetchSize`. */
      defaultPrefetch: z.number().int().min(1).default(1000),
      /** How long a connection may take to send CONNECT, in ms. */
      connectTimeout: z.number().int().min(100).default(10000),
    })
    .prefault({}),
  /** Queues and topics that exist from the start. */
  queues: z.array(z.string()).default([]),
  topics: z.array(z.string()).default([]),
  /**
   * Bytes of messages all queues may hold in memory (ActiveMQ's memoryUsage); beyond it each address's
   * `addressFullPolicy` applies (PAGE: bodies stay only in the journal). -1 = unbounded.
   */
  globalMaxSizeBytes: z.number().int().min(-1).default(64 * 1024 * 1024),
  /** Address settings by wildcard pattern (`>` or `#` = the rest), most specific wins. */
  addressSettings: z.record(z.string(), addressSettings).default({}),
  /** Sweep period for expired messages, ms. */
  expiryScanPeriod: z.number().int().min(10).default(1000),
});

export type JunctionConfig = z.output<typeof ConfigSchema>;
export type JunctionConfigInput = z.input<typeof ConfigSchema>;
