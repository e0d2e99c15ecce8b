import { z } from 'zod';

/**
 * AMQP 1.0 (`amqp` in the config): frame and message sizes, SASL, idle time-outs, credit and link limits.
 * src/config/schema.ts composes it into the one configuration schema; the adapter's config type is
 * inferred from it, so a key, default or bound is written once.
 */
export const amqpConfigSchema = z.strictObject({
  /** Largest frame the broker accepts and advertises in its open (bytes). */
  maxFrameSize: z.number().int().min(512).default(128 * 1024),
  /** Highest channel number (sessions per connection - 1). */
  channelMax: z.number().int().min(0).max(65535).default(255),
  /** Idle timeout the broker advertises, ms; 0 = none. A peer silent for twice this long is closed. */
  idleTimeout: z.number().int().min(0).default(60000),
  /** Largest message a producer may send (bytes, across frames); advertised as the link's max-message-size. */
  maxMessageSize: z.number().int().min(1).default(4 * 1024 * 1024),
  /** Credit granted to each producer link; topped up as its messages are stored. */
  producerCredit: z.number().int().min(1).default(1000),
  /**
   * SASL mechanisms the broker may offer. Security off: ANONYMOUS and PLAIN accept everyone.
   * Security on: PLAIN checks the users, EXTERNAL is offered on a TLS connection with a verified
   * client certificate, ANONYMOUS only when the anonymous user is granted a role.
   */
  saslMechanisms: z.array(z.enum(['ANONYMOUS', 'PLAIN', 'EXTERNAL'])).min(1).default(['ANONYMOUS', 'PLAIN', 'EXTERNAL']),
  /**
   * How long a connection may take to send its protocol header, finish SASL and send its open, ms;
   * then the socket is closed and logged once. Default 10000, as STOMP's connect timeout (ActiveMQ's
   * AMQP connector waits 30 s, AMQ-5587): a real client opens in one or two round trips.
   */
  connectTimeout: z.number().int().min(100).default(10000),
  /**
   * Shortest idle-time-out a peer may ask for in its open, ms: the broker must send a frame at
   * least that often, and rhea sends an empty one every half of it. A shorter one is refused with a
   * close (amqp:invalid-field), as AMQP 1.0 section 2.4.5 lets a peer that cannot support a proposed
   * idle timeout do. Default 1000: a frame every 500 ms at most; real clients ask 30-120 s.
   */
  minIdleTimeout: z.number().int().min(1).default(1000),
  /**
   * Most deliveries one consumer link may have unsettled (or not yet written) at once, whatever
   * link credit its peer grants: the broker's prefetch cap (ActiveMQ caps a consumer's prefetch by
   * its policy the same way). AMQP lets a sender send less than the credit. Default 4096, the
   * session's outgoing window, so a single link per session is never held back below it.
   */
  maxConsumerCredit: z.number().int().min(1).default(4096),
  /**
   * Most links attached at once on one session: advertised as the begin's handle-max (this - 1);
   * an attach beyond it closes the connection with amqp:connection:framing-error (AMQP 1.0 section
   * 2.7.2). With channelMax it caps the links, and so the core consumers and producers, one
   * connection can hold. Default 1024: Qpid JMS opens one link per JMS consumer or producer of a
   * JMS session, rarely more than tens; rhea advertises 2^32-1.
   */
  maxLinksPerSession: z.number().int().min(1).max(4294967296).default(1024),
  /**
   * Most links attached at once on one connection, over all its sessions; an attach beyond it
   * closes the connection with amqp:resource-limit-exceeded. Without it, channelMax sessions of
   * maxLinksPerSession links each let one connection hold 256 x 1024 = 262,144 core consumers or
   * producers. Default 10,000, as stomp.maxSubscriptions and mqtt.maxSubscriptionsPerSession.
   */
  maxLinksPerConnection: z.number().int().min(1).default(10_000),
});

/** The `amqp` section as parsed (every default filled in). */
export type AmqpConfig = z.infer<typeof amqpConfigSchema>;
