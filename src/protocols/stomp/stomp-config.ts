import { z } from 'zod';

/**
 * STOMP 1.0-1.2 (`stomp` in the config): frame limits, acknowledgement, heart-beats, prefetch and the
 * per-connection and broker-wide bounds on what STOMP clients make the broker hold.
 * src/config/schema.ts composes it into the one configuration schema; the adapter's config type is
 * inferred from it, so a key, default or bound is written once.
 */
export const stompConfigSchema = z.strictObject({
  /** Bytes of a frame's header section (after the command line, up to the blank line); more is ERROR "Frame too large" and close. */
  maxHeaderBytes: z.number().int().min(256).default(10 * 1024),
  /** Header lines per frame, repeats included; more is ERROR "Frame too large" and close. */
  maxHeaders: z.number().int().min(1).default(1000),
  /** Body bytes per frame, with or without `content-length`; more is ERROR "Frame too large" and close. */
  maxBodyBytes: z.number().int().min(1).default(4 * 1024 * 1024),
  /** NACK dead-letters at once (ActiveMQ's poison ack), or returns the message for redelivery. */
  nackPolicy: z.enum(['deadLetter', 'redeliver']).default('deadLetter'),
  /** Heart-beat the server offers, `cx,cy` in ms (STOMP 1.1+). */
  heartBeat: z.tuple([z.number().int().min(0), z.number().int().min(0)]).default([10000, 10000]),
  /** Default prefetch of a subscription without `activemq.prefetchSize`. */
  defaultPrefetch: z.number().int().min(1).default(1000),
  /**
   * Largest prefetch a subscription gets: a larger `activemq.prefetchSize` is reset to it, as ActiveMQ
   * Classic's prefetch policy resets any prefetch above its MAX_PREFETCH_SIZE (Short.MAX_VALUE - 1 =
   * 32766, the default here). It bounds a subscription's unacknowledged messages; what is written into
   * a socket nobody reads is bounded by the socket's high-water mark, whatever the prefetch.
   */
  maxPrefetch: z.number().int().min(1).default(32766),
  /**
   * Subscriptions one connection may hold at once; a SUBSCRIBE beyond it gets an ERROR "Too many
   * subscriptions" (ERR_STOMP_SUBSCRIPTION_LIMIT) and the connection is closed. Default 10,000, as
   * MQTT's maxSubscriptionsPerSession: each is a core consumer (and for a topic a queue of its own).
   */
  maxSubscriptions: z.number().int().min(1).default(10_000),
  /**
   * Bytes of frames one connection may have read but not handled yet (queued behind a frame
   * that waits, such as a COMMIT behind a SEND that a full BLOCK address holds, or awaiting the
   * store) before the broker stops reading it; so do 1,024 such frames. A frame counts its body
   * and its headers (their text plus 64 bytes each, what a header holds in the heap). Default
   * 16 MiB: four frames of the largest body (maxBodyBytes), far above what group commit needs in flight.
   */
  maxInflightBytes: z.number().int().min(1).default(16 * 1024 * 1024),
  /** How long a connection may take to send CONNECT, in ms. */
  connectTimeout: z.number().int().min(100).default(10000),
  /**
   * Bytes of partially received frames (command, headers, body so far) over all STOMP connections,
   * TCP and WebSocket. A connection that would go over stops being read until others finish,
   * close or time out (frameTimeout): a large SEND waits, it is not refused. Without it, each
   * connection could hold maxBodyBytes of a frame it never finishes (200 connections: ~800 MB).
   * Default 64 MiB, as globalMaxSizeBytes: 16 unfinished frames of the largest body at once, while
   * a producer on a real link finishes each in milliseconds. Raised to one largest frame if lower.
   */
  maxPartialFrameBytes: z.number().int().min(1).default(64 * 1024 * 1024),
  /**
   * ms a frame may take from its first byte to its NUL; then ERROR (ERR_STOMP_FRAME_TIMEOUT) and
   * close. STOMP sets no such deadline, and heart-beats (off with 0,0) only prove that bytes arrive.
   * Default 30000, as ActiveMQ's default inactivity timeout (maxInactivityDuration): a 4 MiB frame
   * needs ~1.1 Mbit/s; it also bounds how long a frame that waits for the budget may wait.
   */
  frameTimeout: z.number().int().min(100).default(30_000),
});

/** The `stomp` section as parsed (every default filled in). */
export type StompConfig = z.infer<typeof stompConfigSchema>;
