import { LOOKS_LIKE, type WireProtocol } from './first-bytes.ts';
import type { TransportGuards } from './transport-guards.ts';

/**
 * What a listener says to a client that speaks another protocol (see first-bytes.ts), and the one
 * log line about it. The answer is in the language the client can read, when there is one:
 *  - an HTTP client (curl, a browser) on any port gets `HTTP/1.1 400` whose body names the port it
 *    reached and the WebSocket port;
 *  - on the STOMP port, an ERROR frame (STOMP 1.2 "ERROR": the server may send it, then closes);
 *  - on the AMQP port, the AMQP protocol header (AMQP 1.0 §2.2: a server that does not support the
 *    requested protocol sends a header it supports and closes). The SASL layer's header, as the AMQP
 *    adapter answers any other bad header (amqp-connection.ts), so every refusal on the port looks alike;
 *  - on the MQTT port, nothing: CONNACK only ever answers a CONNECT [MQTT-3.1.0-1], [MQTT-3.2.0-1];
 *  - a TLS ClientHello, nothing: a TLS client can read no plaintext, it sees the close.
 * Then the connection is closed.
 */

/** A listener as the broker names it: a TCP listener by its protocol, or the WebSocket port. */
export type ListenerName = 'stomp' | 'mqtt' | 'amqp' | 'ws';

const TITLES: Readonly<Record<ListenerName, string>> = {
  stomp: 'STOMP port (STOMP over TCP)',
  mqtt: 'MQTT port (MQTT over TCP)',
  amqp: 'AMQP port (AMQP 1.0 over TCP)',
  ws: 'WebSocket port (STOMP, MQTT and AMQP over WebSocket)',
};

/** The SASL protocol header (AMQP 1.0 §5.3.1: "AMQP" 3 1 0 0). */
const AMQP_SASL_HEADER = Buffer.from([0x41, 0x4d, 0x51, 0x50, 0x03, 0x01, 0x00, 0x00]);

export interface WrongProtocolAnswer {
  /** Bytes to write before closing; none: close only. */
  bytes: Buffer | undefined;
  /** What was answered, for the log line. */
  answer: 'HTTP 400' | 'STOMP ERROR' | 'AMQP protocol header' | 'none';
  /** The sentence naming the right port, as the client is told it. */
  text: string;
}

/** Where a client of `foreign` should go, from the ports the broker's listeners are bound to. */
function hint(foreign: WireProtocol, ports: ReadonlyMap<string, number>): string {
  if (foreign === 'tls') return 'It does not speak TLS.';
  if (foreign === 'http') {
    const ws = ports.get('ws');
    return ws === undefined ? 'It is not an HTTP server.' : `It is not an HTTP server; WebSocket clients (STOMP, MQTT, AMQP) connect to port ${ws}.`;
  }
  const port = ports.get(foreign);
  return port === undefined ? '' : `${foreign.toUpperCase()} is on port ${port}.`;
}

function httpResponse(status: string, text: string): Buffer {
  const body = Buffer.from(`${text}\n`);
  const head = `HTTP/1.1 ${status}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`;
  return Buffer.concat([Buffer.from(head, 'latin1'), body]);
}

/** What `listener` answers a client whose first bytes look like `foreign`. */
export function wrongProtocolAnswer(listener: ListenerName, foreign: WireProtocol, ports: ReadonlyMap<string, number>): WrongProtocolAnswer {
  const text = `This is Junction's ${TITLES[listener]}, and the first bytes look like ${LOOKS_LIKE[foreign]}. ${hint(foreign, ports)}`.trimEnd();
  if (foreign === 'tls') return { bytes: undefined, answer: 'none', text };
  if (foreign === 'http' || listener === 'ws') return { bytes: httpResponse('400 Bad Request', text), answer: 'HTTP 400', text };
  if (listener === 'stomp') {
    // No header escaping needed: the values are constant text without ':', CR or LF; the body has no NUL.
    const body = Buffer.from(`${text}\n`);
    const frame = `ERROR\nmessage:Wrong protocol\ncontent-type:text/plain\ncontent-length:${body.length}\n\n`;
    return { bytes: Buffer.concat([Buffer.from(frame), body, Buffer.from([0])]), answer: 'STOMP ERROR', text };
  }
  if (listener === 'amqp') return { bytes: AMQP_SASL_HEADER, answer: 'AMQP protocol header', text };
  return { bytes: undefined, answer: 'none', text };
}

/**
 * The one line logged for a refused connection: the listener, the remote, what the bytes look like
 * (with the first of them in hex) and what was answered. Past the first 100 of a burst, connections
 * are only counted, and summed up every 10 s while it goes on (`guards.wrongProtocolLog`).
 */
export function logWrongProtocol(guards: Pick<TransportGuards, 'log' | 'wrongProtocolLog'>, listener: ListenerName, remote: string, looksLike: string, firstBytes: Buffer, answer: WrongProtocolAnswer['answer'], detail?: string): void {
  // The first lines of a burst in full, then a count every 10 s (transport-guards.ts).
  if (!guards.wrongProtocolLog.admit(`${listener}: ${looksLike}`)) return;
  guards.log.warn(
    { code: 'ERR_TRANSPORT_WRONG_PROTOCOL', listener, remote, looksLike, firstBytes: firstBytes.subarray(0, 16).toString('hex'), answer, detail },
    looksLike === LOOKS_LIKE.tls ? 'TLS handshake on a plaintext listener' : 'another protocol on this listener: closed',
  );
}
