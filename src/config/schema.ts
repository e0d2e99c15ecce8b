import { z } from 'zod';
import { amqpConfigSchema } from '../protocols/amqp/amqp-config.ts';
import { mqttConfigSchema } from '../protocols/mqtt/mqtt-config.ts';
import { stompConfigSchema } from '../protocols/stomp/stomp-config.ts';
import { securityConfigSchema } from '../security/security-config.ts';
import { tlsConfigSchema } from '../transport/tls-config.ts';
import { httpConfigSchema } from '../management/http-config.ts';

const port = z.number().int().min(0).max(65535);

/** One entry of `addressSettings`; a field left out comes from a less specific pattern, or the default given here. */
const addressSettings = z.strictObject({
  /** Deliveries in all before a message is dead-lettered. Default 7: one delivery and six redeliveries, as ActiveMQ Classic. */
  maxDeliveryAttempts: z.number().int().min(1).optional(),
  /** ms before a returned (nacked, or left unacked by a closed consumer) message is delivered again. Default 0. */
  redeliveryDelay: z.number().int().min(0).optional(),
  /** Each further redelivery waits this many times longer than the one before. Default 1. */
  redeliveryMultiplier: z.number().min(1).optional(),
  /** Longest redelivery delay, ms, whatever the multiplier; 0 (default) = no cap. */
  maxRedeliveryDelay: z.number().int().min(0).optional(),
  /** Queue that receives dead-lettered messages. Default `ActiveMQ.DLQ`; an empty string discards them. */
  deadLetterAddress: z.string().optional(),
  /** Queue that receives expired messages. Default: the dead-letter address; an empty string discards them. */
  expiryAddress: z.string().optional(),
  /** Bytes of messages one queue of the address may hold in memory, beyond which `addressFullPolicy` applies. Default -1 = unbounded (`globalMaxSizeBytes` still applies). */
  maxSizeBytes: z.number().int().min(-1).optional(),
  /**
   * Over `maxSizeBytes` or `globalMaxSizeBytes`: `PAGE` (default) keeps new messages only in the journal and
   * reads them back ahead of delivery; `BLOCK` holds the producer until consumers make room; `FAIL`
   * refuses the send; `DROP` drops the message for that queue and counts it.
   */
  addressFullPolicy: z.enum(['PAGE', 'BLOCK', 'FAIL', 'DROP']).optional(),
  /** Create a queue or topic on first use. Default true; when false only configured `queues` and `topics` exist. */
  autoCreate: z.boolean().optional(),
  /** Delete an auto-created queue when it has no consumers and no messages. Default false. */
  autoDelete: z.boolean().optional(),
  /** Last-value queue: a new message replaces the queued one with the same value of this property. Default unset. */
  lastValueKey: z.string().optional(),
  /** Priority (0-9) of messages sent without one. Default 4. */
  defaultPriority: z.number().int().min(0).max(9).optional(),
});

/** The one configuration schema: `junction.json`, flags and `JUNCTION_*` variables all land here. */
export const ConfigSchema = z.strictObject({
  /** Broker name, used in message ids and logs. */
  name: z.string().regex(/^[A-Za-z0-9_.-]+$/).default('junction'),
  /** Data directory: the journal, `ports.json`, the route registry and the lock that keeps it to one broker. */
  dataDir: z.string().min(1).default('./data'),
  /** Address every listener binds to. */
  host: z.string().min(1).default('127.0.0.1'),
  /** Listener ports, as ActiveMQ's; 0 picks a free port (the ports bound are logged and written to `<dataDir>/ports.json`). */
  ports: z
    .strictObject({
      /** MQTT 3.1/3.1.1 over TCP. */
      mqtt: port.default(1883),
      /** AMQP 1.0 over TCP. */
      amqp: port.default(5672),
      /** STOMP 1.0/1.1/1.2 over TCP. */
      stomp: port.default(61613),
      /** WebSocket for every protocol, chosen by subprotocol (STOMP, MQTT, AMQP). */
      ws: port.default(61614),
      /** The management HTTP server: web console, REST API, `/metrics`, health probes (docs/management.md; ActiveMQ's console port). */
      http: port.default(8161),
    })
    .prefault({}),
  /** Route files (`*.route.json`, `*.route.ts`) deployed at start and watched (docs/routes.md). */
  routesDir: z.string().default('./routes'),
  /** Least severe log level written. */
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /**
   * `json` (default): one JSON object per line, for log collectors. `pretty`: one readable line per
   * event for a terminal (`--log-format pretty`, `JUNCTION_LOG_FORMAT`), formatted in-process.
   */
  logFormat: z.enum(['json', 'pretty']).default('json'),
  /** Persistence (docs/journal.md). */
  store: z
    .strictObject({
      /** `journal`: the embedded append-only journal in `<dataDir>/journal` (persistent). `memory`: nothing survives a restart. */
      type: z.enum(['journal', 'memory']).default('journal'),
      /** `always` (confirm after fdatasync), `interval:<ms>` (fsync every ms), `never` (OS decides; tests and benchmarks). */
      sync: z
        .string()
        .regex(/^(always|never|interval:\d+)$/, 'expected always, never or interval:<ms>')
        .default('always'),
      /** Journal segment file size: a segment rolls when the next write would pass it (smaller while the disk has less free space than one segment). */
      segmentSize: z.number().int().min(64 * 1024).default(32 * 1024 * 1024),
      /** Compact when live bytes / journal bytes falls below this. */
      compactThreshold: z.number().min(0).max(1).default(0.5),
      /** Skip corrupt records in the middle of the journal instead of refusing to start. */
      recoverSkipCorrupt: z.boolean().default(false),
    })
    .prefault({}),
  /** The STOMP adapter (docs/stomp.md). */
  stomp: stompConfigSchema.prefault({}),
  /** The AMQP 1.0 adapter (docs/amqp.md). */
  amqp: amqpConfigSchema.prefault({}),
  /** The MQTT 3.1/3.1.1 adapter (docs/mqtt.md). */
  mqtt: mqttConfigSchema.prefault({}),
  /** Users, roles, permissions, login limits and the audit log (docs/security.md). */
  security: securityConfigSchema.prefault({}),
  /** The management HTTP(S) server: console, REST API, `/metrics` (docs/management.md). */
  http: httpConfigSchema.prefault({}),
  /** TLS listeners: STOMP+SSL, MQTT over TLS, AMQPS, secure WebSocket (docs/security.md#tls). Off until `tls.cert` and `tls.key` are set. */
  tls: tlsConfigSchema.prefault({}),
  /** Queues that exist from the start (also when `autoCreate` is false). */
  queues: z.array(z.string()).default([]),
  /** Topics that exist from the start. */
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
  /**
   * Broker-wide caps on what clients make the core hold, whatever the protocol: each STOMP
   * subscription, AMQP receiving link and MQTT subscription is a consumer, and a topic one also a
   * subscription queue. The per-connection caps (stomp.maxSubscriptions, amqp.maxLinksPerConnection,
   * mqtt.maxSubscriptionsPerSession) leave the number of connections times 10,000: measured ~4.5 KB
   * of RSS per STOMP topic subscription, 21 connections (~210,000) exhausted a 1 GiB heap. One over
   * a cap is refused with ERR_RESOURCE_LIMIT (STOMP ERROR "Resource limit reached", AMQP attach
   * refused with `amqp:resource-limit-exceeded`, MQTT SUBACK 0x80, a send that would auto-create a
   * queue: STOMP ERROR / AMQP rejected), logged at warn at most once a minute. Configured queues and
   * what the store recovers (durable subscriptions, queues holding messages) always count but are
   * never refused. ActiveMQ has no such caps (it bounds memory, not objects).
   */
  core: z
    .strictObject({
      /**
       * Queues at once, subscription and temporary queues included (default 100,000: ~450 MB at the
       * measured ~4.5 KB each, half of what exhausted a 1 GiB heap; measured with the cap: 100,000
       * STOMP topic subscriptions peaked at 583 MB RSS and the broker kept serving).
       */
      maxQueues: z.number().int().min(1).default(100_000),
      /**
       * Consumers at once over all connections (default 100,000, as maxQueues: a topic consumer
       * also holds a queue, so the measured ~4.5 KB covers both).
       */
      maxConsumers: z.number().int().min(1).default(100_000),
    })
    .prefault({}),
  /** Scheduled delivery. */
  scheduler: z
    .strictObject({
      /**
       * Furthest ahead a message may be scheduled (STOMP `AMQ_SCHEDULED_DELAY`/`_AMQ_SCHED_DELIVERY`,
       * AMQP `x-opt-delivery-time`/`-delay`), ms; a send beyond it is refused (STOMP ERROR, AMQP
       * rejected `amqp:invalid-field`). Default one year (31,536,000,000 ms): ActiveMQ has no cap, but
       * a delay beyond a year is almost always a unit mistake (s for ms) or a hostile value, and a
       * year still covers yearly reminders. Longer delays than the 2^31-1 ms a Node timer takes are
       * waited for in steps. 0 refuses scheduled delivery altogether.
       */
      maxScheduledDelay: z.number().int().min(0).default(365 * 24 * 3600 * 1000),
    })
    .prefault({}),
  /**
   * Local transactions (STOMP BEGIN/COMMIT, AMQP coordinator): their sends are buffered in memory
   * until commit. The buffered bytes count against `globalMaxSizeBytes` (queues page or block sooner
   * while transactions are open) and all transactions together may hold at most `globalMaxSizeBytes`.
   * A send over a limit is refused with ERR_TX_LIMIT (STOMP ERROR "Transaction limit exceeded", then
   * close, which rolls back) and the transaction's memory is released at commit, rollback or close.
   */
  transactions: z
    .strictObject({
      /**
       * Bytes one transaction may buffer: its messages' sizes plus 64 bytes per transacted ack
       * (default 32 MiB: half the default broker memory limit, so two full-size transactions fit; a
       * thousand 4 KiB messages take 4 MiB). ActiveMQ has no such cap (it spools to disk).
       */
      maxBytes: z.number().int().min(1024).default(32 * 1024 * 1024),
      /**
       * Transactions one connection may have open at once (default 100). A STOMP or JMS client has one
       * per session; the byte limits bound their memory, this bounds their bookkeeping.
       */
      maxPerConnection: z.number().int().min(1).default(100),
    })
    .prefault({}),
  /**
   * Limits every listener (STOMP, MQTT and AMQP over TCP, and the WebSocket port) applies to the
   * connections it accepts, before any protocol sees them (src/transport).
   */
  connections: z
    .strictObject({
      /**
       * Connections open at once over all listeners; one more is closed as accepted (logged once per
       * burst). Default 10,000: ActiveMQ Classic allows 1,000 per transport connector and Mosquitto
       * any number, but an MQTT broker holds thousands of idle devices; at the measured ~9 KiB per
       * idle connection 10,000 cost ~90 MB. It is also kept under the process's file-descriptor
       * limit (less 128 for the journal, routes and clients), because libuv closes connections it
       * cannot accept for want of descriptors without telling Node: every listener would refuse
       * service with nothing logged.
       */
      max: z.number().int().min(1).default(10_000),
      /**
       * Connections open at once from one remote address (IPv4-mapped IPv6 counts as IPv4). Default
       * 1,000 (a tenth of `max`, as many as ActiveMQ allows a whole connector), so one host cannot
       * take every connection; raise it when many clients share an address (NAT, a proxy).
       */
      maxPerAddress: z.number().int().min(1).default(1000),
      /**
       * How long a connection to the WebSocket port may take to complete its HTTP upgrade request,
       * ms (Node's headersTimeout/requestTimeout); a silent or trickling one is closed. Default
       * 10,000, as STOMP's connect timeout: the upgrade is one round trip. After the upgrade the
       * protocol's own connect timeout applies.
       */
      upgradeTimeout: z.number().int().min(100).default(10_000),
      /**
       * Bytes of unfinished WebSocket messages over all WebSocket connections (every protocol). ws
       * buffers a whole message, up to its protocol's maxPayload (STOMP ~4 MiB), before any
       * protocol sees a byte, so stomp.maxPartialFrameBytes cannot count it: 200 connections each
       * holding 4 MiB of an unfinished message took RSS from 129 to 944 MB. Over the total, a
       * connection in the middle of a message stops being read until others finish, close or time
       * out (messageTimeout): a large message waits, it is not refused. Default 64 MiB, as
       * stomp.maxPartialFrameBytes and globalMaxSizeBytes: sixteen largest STOMP messages at once.
       * Raised to the largest WebSocket message (maxPayload) if lower.
       */
      maxPartialMessageBytes: z.number().int().min(1024).default(64 * 1024 * 1024),
      /**
       * A WebSocket message that has started but is not complete this long, ms, closes its
       * connection (1008, logged at info). Default 30,000, as stomp.frameTimeout: a real client
       * sends a 4 MiB message in milliseconds, so only a stalled or hostile one hits it.
       */
      messageTimeout: z.number().int().min(100).default(30_000),
      /**
       * A connection whose outgoing buffer stays over its high-water mark this long, ms, is closed
       * and logged (ActiveMQ's AbortSlowConsumerStrategy, maxSlowDuration 30,000 ms). 0 = never.
       */
      slowConsumerTimeout: z.number().int().min(0).default(30_000),
      /**
       * Bytes a connection may have waiting to be sent; one write beyond closes it at once. Credit
       * stops at the high-water mark, so past it only messages already granted go out (at most one per
       * subscription, 4 MiB each by default): 64 MiB allows sixteen such at once and equals the
       * default memory budget of all queues (globalMaxSizeBytes), which auto-acked bytes in a socket
       * buffer have left.
       */
      maxOutboundBytes: z.number().int().min(64 * 1024).default(64 * 1024 * 1024),
    })
    .prefault({}),
  /**
   * JMS selectors (STOMP `selector`, AMQP `apache.org:selector-filter:string`). A selector is a
   * small program a client hands the broker, run on every message it might receive: these bound
   * what one can cost. A selector over a limit is refused like a malformed one (STOMP ERROR
   * "Invalid selector" naming the position, AMQP attach refused with `amqp:invalid-field`).
   * ActiveMQ has none of these limits (and its LIKE, a java.util.regex, has the same worst cases).
   */
  selectors: z
    .strictObject({
      /**
       * Longest selector, characters (default 4096). It bounds the parse and what the compiled
       * selector holds (an IN list of at most ~1,300 strings, every LIKE pattern's length); real
       * selectors are well under 1 KiB. A 100,000-deep parenthesis nest is refused on length alone.
       */
      maxLength: z.number().int().min(1).default(4096),
      /**
       * Deepest nesting of parentheses, NOT and unary signs (default 64, at most 256): the parser
       * and the evaluator recurse per level, so this is what keeps the stack safe.
       */
      maxDepth: z.number().int().min(1).max(256).default(64),
      /**
       * Most characters that the stretches between two `%` holding a `_` may total over ALL the
       * LIKE patterns of one selector (default 256; a budget per selector, not per pattern: fifteen
       * OR'd LIKEs of 256 each passed the old per-pattern limit and cost fifteen times one).
       * Matching such a stretch of s characters costs ⌈s/32⌉ word operations per character of the
       * value (bit-parallel Shift-And; literal stretches are searched in linear time and are not
       * limited). Measured against 1,000,000 characters: 6 ms up to 32, 42 ms at 256, 979 ms at
       * 4,000 (issue 11's pattern). A UUID shape is 36. The LIKE that exceeds it is refused with
       * ERR_SELECTOR_TOO_COMPLEX at its pattern's position.
       */
      maxLikeSegment: z.number().int().min(1).default(256),
      /**
       * Most LIKE predicates in one selector (default 16). Each LIKE scans the value once, so k
       * LIKEs are k scans; with maxLikeValueLength shared among them, 16 keeps every LIKE of a
       * selector within the limit able to read a 4,096-character value (65,536 / 16), and real
       * selectors hold a handful (`region LIKE 'eu-%' OR region LIKE 'us-%'`).
       */
      maxLikes: z.number().int().min(1).default(16),
      /**
       * Characters (UTF-16 units) that all the LIKEs of one selector may read per message (default
       * 65,536). A selector with k LIKEs evaluates each against strings of at most
       * ⌊maxLikeValueLength / k⌋ characters; against a longer one that LIKE is UNKNOWN (neither
       * `LIKE` nor `NOT LIKE` matches it). So one evaluation of a selector within the limits reads
       * at most 65,536 characters in LIKEs at ≤ 8 words each (maxLikeSegment 256): measured 2.3-3.4
       * ms worst case (one 256-character `_` stretch against 65,536 `a`s; sixteen LIKEs sharing it
       * 0.4-1.1 ms), where the old per-LIKE 1,048,576 allowed 36-42 ms per LIKE and fifteen OR'd
       * LIKEs 566-601 ms per selector. A message sent to N topic subscriptions with selectors is
       * evaluated N times synchronously in one turn: worst case N × ~3.4 ms (measured: 20
       * subscribers 70 ms, 100 subscribers 338 ms; N is bounded only by subscription counts, e.g.
       * 10,000 per STOMP connection ≈ 34 s). Only AMQP application properties come near the limit:
       * STOMP headers are at most 10 KiB and MQTT 3.1.1 carries none.
       */
      maxLikeValueLength: z.number().int().min(1).default(65_536),
    })
    .prefault({}),
});

export type JunctionConfig = z.output<typeof ConfigSchema>;
export type JunctionConfigInput = z.input<typeof ConfigSchema>;
