/**
 * Tells another protocol from the first bytes of a connection, so that a client on the wrong port (an
 * MQTT device pointed at the STOMP port, curl at the AMQP port, a TLS client at a plaintext port) is
 * answered and closed at once with a log line saying what happened, instead of waiting for the
 * listener's connect timeout or failing on some later, puzzling parse error.
 *
 * Pure: bytes in, a verdict out. Every signature is a fixed prefix of at most {@link MAX_SNIFF_BYTES},
 * so a connection is judged on its first chunk in practice, and on at most that many bytes when the
 * client writes one byte at a time.
 */

/** The protocols a listener can recognise as not its own. */
export type WireProtocol = 'http' | 'tls' | 'mqtt' | 'stomp' | 'amqp';

/** What the bytes look like, for the log line and the answer. */
export const LOOKS_LIKE: Readonly<Record<WireProtocol, string>> = {
  http: 'HTTP request',
  tls: 'TLS handshake',
  mqtt: 'MQTT CONNECT',
  stomp: 'STOMP CONNECT',
  amqp: 'AMQP protocol header',
};

interface Signature {
  readonly protocol: WireProtocol;
  readonly bytes: Buffer;
}

function sig(protocol: WireProtocol, bytes: string | number[]): Signature {
  return { protocol, bytes: typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : Buffer.from(bytes) };
}

const SIGNATURES: readonly Signature[] = [
  // RFC 9110 §9.3 methods and RFC 5789 PATCH, each followed by the request line's space; PRI is the
  // HTTP/2 connection preface (RFC 9113 §3.4). "CONNECT " differs from STOMP's "CONNECT\n" at byte 8.
  ...['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH', 'PRI'].map((m) => sig('http', `${m} `)),
  // TLS record header (RFC 8446 §5.1): content type handshake (22), legacy version 3.x.
  sig('tls', [0x16, 0x03]),
  // MQTT 3.1.1 §3.1.1: the first packet is CONNECT, fixed header 0x10 [MQTT-3.1.0-1]. A first byte 0x10
  // is never valid STOMP (a command is letters) nor AMQP (the header starts with "AMQP").
  sig('mqtt', [0x10]),
  // STOMP 1.2 "Connecting": the first frame is CONNECT or STOMP; the command line ends in LF or CRLF.
  sig('stomp', 'CONNECT\n'),
  sig('stomp', 'CONNECT\r\n'),
  sig('stomp', 'STOMP\n'),
  sig('stomp', 'STOMP\r\n'),
  // AMQP 1.0 §2.2: the protocol header starts with "AMQP" (then protocol id and version).
  sig('amqp', 'AMQP'),
];

/** The most bytes {@link sniffForeign} may ask to see before it decides. */
export const MAX_SNIFF_BYTES = Math.max(...SIGNATURES.map((s) => s.bytes.length));

/**
 * Whether `prefix` (the first bytes of a connection) starts another protocol than `own`: that protocol,
 * `null` when it cannot (the listener's own protocol, or bytes this does not know, left to the
 * listener's protocol to judge), or `undefined` when more bytes are needed (never once `prefix` holds
 * {@link MAX_SNIFF_BYTES}).
 */
export function sniffForeign(prefix: Buffer, own: WireProtocol): WireProtocol | null | undefined {
  let undecided = false;
  for (const s of SIGNATURES) {
    if (s.protocol === own) continue;
    const n = Math.min(prefix.length, s.bytes.length);
    if (prefix.compare(s.bytes, 0, n, 0, n) !== 0) continue;
    if (n === s.bytes.length) return s.protocol;
    undecided = true;
  }
  return undecided ? undefined : null;
}
