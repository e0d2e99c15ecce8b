import type { Duplex } from 'node:stream';

/**
 * The parts of aedes's client and packets the adapter reads. aedes types `persistence` and `mq` as
 * `any` and its client type lacks these fields, so the adapter names what it relies on here, in one place.
 */
export interface AedesClient {
  /** Null until CONNECT is handled. */
  id: string | null;
  clean: boolean;
  version: number | null;
  closed: boolean;
  connecting: boolean;
  connected: boolean;
  connackSent: boolean;
  conn: Duplex;
  /** Filter -> the subscription aedes made, whose `func` it hands to `mq.on`. */
  subscriptions: Record<string, { qos: number; func: DeliverFunc } | undefined>;
  /** Closes the connection (publishing the will, as on any abrupt close). */
  close(done?: () => void): void;
}

/** aedes's per-subscription delivery function (`notify` in mqemitter terms); `cb` = written. */
export type DeliverFunc = (packet: OutgoingPacket, cb: () => void) => void;

/** A PUBLISH as handed to aedes for delivery. */
export interface OutgoingPacket {
  cmd: 'publish';
  topic: string;
  payload: Buffer;
  qos: 0 | 1 | 2;
  retain: boolean;
  dup: boolean;
  messageId?: number;
  properties?: Record<string | symbol, unknown>;
}

/** What aedes hands to `authorizePublish` and to the QoS 2 persistence methods. */
export interface IncomingPacket {
  cmd: string;
  topic: string;
  payload: Buffer | string;
  qos: 0 | 1 | 2;
  retain: boolean;
  dup?: boolean;
  messageId?: number;
}

export interface ConnectPacket {
  cmd: 'connect';
  protocolVersion: number;
  clientId: string;
  clean: boolean;
  keepalive: number;
}
