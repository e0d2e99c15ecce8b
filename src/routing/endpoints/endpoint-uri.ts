import { JunctionError } from '../../errors.ts';

/** A parsed endpoint URI. */
export type EndpointUri =
  | { scheme: 'queue' | 'topic'; name: string; uri: string; options: URLSearchParams }
  | { scheme: 'mqtt'; host: string; port: number; topic: string; uri: string; options: URLSearchParams; sendTimeout?: number; endpoint: string }
  | { scheme: 'amqp'; host: string; port: number; address: string; uri: string; options: URLSearchParams; sendTimeout?: number; endpoint: string }
  | { scheme: 'timer'; name: string; period: number; uri: string; options: URLSearchParams }
  | { scheme: 'log'; name: string; uri: string; options: URLSearchParams };

function bad(uri: string, why: string): JunctionError {
  return new JunctionError('ERR_ROUTE_INVALID', `Endpoint '${uri}': ${why}`);
}

/** The longest `sendTimeout` of a remote endpoint, ms (one hour). */
export const MAX_SEND_TIMEOUT = 3_600_000;

/** `?sendTimeout=ms` of a remote endpoint, checked at deploy. */
function sendTimeoutOf(uri: string, options: URLSearchParams): number | undefined {
  const v = options.get('sendTimeout');
  if (v === null) return undefined;
  const n = Number(v);
  if (!/^[0-9]+$/.test(v) || n < 1 || n > MAX_SEND_TIMEOUT) throw bad(uri, `sendTimeout must be a whole number of ms from 1 to ${MAX_SEND_TIMEOUT}`);
  return n;
}

/** The longest `reconnectPeriod` of an mqtt:// endpoint, ms (one hour). */
export const MAX_RECONNECT_PERIOD = 3_600_000;

/**
 * The other options MQTT.js is given, checked at deploy: `reconnectPeriod` (ms; NaN or 0 switches
 * its reconnecting off, so a route would never come back after the remote's first restart) and
 * `qos` (0 or 1: what the endpoints implement) and `protocolVersion` (4, the default, or 5).
 */
function checkMqttOptions(uri: string, options: URLSearchParams): void {
  const period = options.get('reconnectPeriod');
  if (period !== null && (!/^[0-9]+$/.test(period) || Number(period) < 1 || Number(period) > MAX_RECONNECT_PERIOD)) {
    throw bad(uri, `reconnectPeriod must be a whole number of ms from 1 to ${MAX_RECONNECT_PERIOD}`);
  }
  const qos = options.get('qos');
  if (qos !== null && qos !== '0' && qos !== '1') throw bad(uri, 'qos must be 0 or 1');
  const version = options.get('protocolVersion');
  if (version !== null && version !== '4' && version !== '5') throw bad(uri, 'protocolVersion must be 4 (MQTT 3.1.1) or 5');
}

/**
 * Parses `queue:NAME`, `topic:NAME`, `mqtt://host:port/topic/filter`, `amqp://host:port/address`,
 * `timer:NAME?period=ms`, `log:NAME`.
 */
export function parseEndpoint(uri: string): EndpointUri {
  const colon = uri.indexOf(':');
  if (colon <= 0) throw bad(uri, 'expected scheme:name (queue:, topic:, mqtt://, amqp://, timer:, log:)');
  const scheme = uri.slice(0, colon);
  if (scheme === 'mqtt' || scheme === 'amqp') {
    let u: URL;
    try {
      u = new URL(uri);
    } catch {
      throw bad(uri, `expected ${scheme}://host:port/${scheme === 'mqtt' ? 'topic/filter' : 'address'}`);
    }
    const path = decodeURIComponent(u.pathname.slice(1));
    if (path === '') throw bad(uri, scheme === 'mqtt' ? 'no topic after host:port' : 'no address after host:port');
    const port = u.port === '' ? (scheme === 'mqtt' ? 1883 : 5672) : Number(u.port);
    // MQTT filters use '#', which a URL takes for a fragment: take the topic from the text itself.
    const slash = uri.indexOf('/', scheme.length + 3);
    const topic = scheme === 'mqtt' ? decodeURIComponent(uri.slice(slash + 1).split('?')[0]!) : path;
    // The same for its options: after a '#' the URL has them in the fragment, not the query.
    const afterPath = uri.slice(slash + 1);
    const options = scheme === 'mqtt' ? new URLSearchParams(afterPath.includes('?') ? afterPath.slice(afterPath.indexOf('?') + 1) : '') : u.searchParams;
    const sendTimeout = sendTimeoutOf(uri, options);
    if (scheme === 'mqtt') checkMqttOptions(uri, options);
    // What logs name the endpoint by: no user info or query (`?password=`).
    const endpoint = `${scheme}://${u.hostname}:${port}/${scheme === 'mqtt' ? topic : path}`;
    const common = { host: u.hostname, port, uri, options, endpoint, ...(sendTimeout !== undefined ? { sendTimeout } : {}) };
    return scheme === 'mqtt' ? { scheme, topic, ...common } : { scheme, address: path, ...common };
  }
  const rest = uri.slice(colon + 1);
  const q = rest.indexOf('?');
  const name = q >= 0 ? rest.slice(0, q) : rest;
  const options = new URLSearchParams(q >= 0 ? rest.slice(q + 1) : '');
  if (name === '') throw bad(uri, 'no name');
  switch (scheme) {
    case 'queue':
    case 'topic':
      return { scheme, name, uri, options };
    case 'timer': {
      const period = Number(options.get('period') ?? 1000);
      if (!Number.isInteger(period) || period < 1) throw bad(uri, 'period must be a positive number of ms');
      return { scheme, name, period, uri, options };
    }
    case 'log':
      return { scheme, name, uri, options };
    default:
      throw bad(uri, `unknown scheme '${scheme}' (queue:, topic:, mqtt://, amqp://, timer:, log:)`);
  }
}

/** Checks that a URI can be a route's `from` (sources) or a `to` (producers). */
export function checkEndpoint(uri: string, role: 'from' | 'to'): EndpointUri {
  const e = parseEndpoint(uri);
  if (role === 'from' && e.scheme === 'log') throw bad(uri, 'log: is not a source');
  if (role === 'to' && e.scheme === 'timer') throw bad(uri, 'timer: is not a destination');
  return e;
}
