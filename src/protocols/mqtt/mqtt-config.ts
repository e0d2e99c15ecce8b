import { z } from 'zod';

/**
 * MQTT 3.1 / 3.1.1 (`mqtt` in the config): packet size, in-flight windows, keep-alive, subscription
 * caps, and the broker-wide bounds on retained messages.
 * src/config/schema.ts composes it into the one configuration schema; the adapter's config type is
 * inferred from it, so a key, default or bound is written once.
 */
export const mqttConfigSchema = z.strictObject({
  /** Largest packet a client may send, bytes (fixed header included); a bigger one closes the connection. */
  maxPacketSize: z.number().int().min(64).default(1024 * 1024),
  /** QoS 1/2 messages in flight to one subscription before the client acknowledges them (core credit). */
  maxInflight: z.number().int().min(1).max(65535).default(1000),
  /** QoS 0 messages handed to one subscription's socket ahead of aedes writing them. */
  qos0Window: z.number().int().min(1).default(1000),
  /** How long a connection may take to send CONNECT, in ms; with security on, also how long its login may take (then CONNACK 0x03). */
  connectTimeout: z.number().int().min(100).default(30000),
  /** Largest keep-alive a client may ask for, in s (CONNACK 0x06 beyond it); 0 = any. */
  keepaliveLimit: z.number().int().min(0).default(0),
  /**
   * Subscriptions one session (connection, or persistent session) may hold; a SUBSCRIBE's filters
   * beyond it get SUBACK 0x80 (logged once per connection). Default 10,000: a fleet gateway
   * subscribing per device needs thousands, and each subscription is a core queue and consumer
   * (~1 KiB of heap held, ~10 KiB of garbage while it is made or restored; a durable one is a
   * journal record), so 10,000 bounds one client at ~10 MiB held and ~1 s of sliced work.
   */
  maxSubscriptionsPerSession: z.number().int().min(1).default(10_000),
  /**
   * Topics with a retained message, broker-wide (EMQX `max_retained_messages`). At the cap a
   * retained PUBLISH to a new topic is delivered to live subscribers but not retained (replacing or
   * clearing an existing one still works); logged at warn at most once a minute. Default 100,000.
   */
  maxRetainedMessages: z.number().int().min(0).default(100_000),
  /**
   * Bytes of retained messages held in memory (message size as the core counts it), broker-wide;
   * they also count against `globalMaxSizeBytes`. Beyond it as `maxRetainedMessages`. Default 64 MiB.
   */
  maxRetainedBytes: z.number().int().min(0).default(64 * 1024 * 1024),
});

/** The `mqtt` section as parsed (every default filled in). */
export type MqttConfig = z.infer<typeof mqttConfigSchema>;
