import { JunctionError } from '../../errors.ts';

/**
 * How to reach a remote broker (`mqtt://`, `mqtts://`, `amqp://`, `amqps://`): where, as whom and
 * over what. The credentials and the TLS file paths are for the connection only: what is shown of the
 * endpoint (logs, errors, route listings and graphs) is {@link redactUri} of the URI, or `endpoint`.
 */
export interface RemoteTarget {
  host: string;
  port: number;
  /** The URI as given (credentials included): never logged. */
  uri: string;
  options: URLSearchParams;
  sendTimeout?: number;
  /** What logs name the endpoint by: scheme, host, port and topic or address; no user info, no query. */
  endpoint: string;
  /** User name and password: from the URI's user info (`amqp://user:pass@host`), else `?username=&password=`. */
  credentials?: { username: string; password: string };
  /** Set for `mqtts://` and `amqps://`: the connection is TLS. */
  tls?: RemoteTls;
}

/**
 * TLS options of an `mqtts://` or `amqps://` endpoint, from its query: `ca` (PEM path: the CAs the
 * remote's certificate must chain to; default the system's), `cert` and `key` (PEM paths: a client
 * certificate, for a remote that asks for one), `rejectUnauthorized` (`false` accepts any remote
 * certificate: tests only), `servername` (SNI and the name checked, default the host).
 */
export interface RemoteTls {
  ca?: string;
  cert?: string;
  key?: string;
  rejectUnauthorized: boolean;
  servername?: string;
}

/** A parsed endpoint URI. */
export type EndpointUri =
  | { scheme: 'queue' | 'topic'; name: string; uri: string; options: URLSearchParams }
  | ({ scheme: 'mqtt'; topic: string } & RemoteTarget)
  | ({ scheme: 'amqp'; address: string } & RemoteTarget)
  | { scheme: 'timer'; name: string; period: number; uri: string; options: URLSearchParams }
  | { scheme: 'log'; name: string; uri: string; options: URLSearchParams };

function bad(uri: string, why: string): JunctionError {
  // A URI that does not parse has no user info to find: a password with an unencoded '/', '?' or
  // '#' (`amqp://u:p/ss@h/q`) made the parse fail and stood in the message whole.
  const shown = URL.canParse(uri) ? redactUri(uri) : uri.replace(UNPARSED_USERINFO, '$1***@');
  return new JunctionError('ERR_ROUTE_INVALID', `Endpoint '${shown}': ${why}`);
}

/**
 * The user name and password of a remote endpoint: the URI's user info (percent-decoded, as RFC 3986
 * §3.2.1 writes it: `amqp://user:p%40ss@host`) wins over `?username=&password=`. None without a user name.
 */
function credentialsOf(u: URL, options: URLSearchParams): RemoteTarget['credentials'] {
  if (u.username !== '') return { username: decodeURIComponent(u.username), password: decodeURIComponent(u.password) };
  const username = options.get('username');
  return username !== null ? { username, password: options.get('password') ?? '' } : undefined;
}

/** The TLS options of an `mqtts://`/`amqps://` endpoint; on a plaintext scheme they are a mistake, said at deploy. */
function remoteTls(uri: string, scheme: string, secure: boolean, options: URLSearchParams): RemoteTls | undefined {
  if (!secure) {
    const given = TLS_OPTIONS.find((o) => options.has(o));
    if (given !== undefined) throw bad(uri, `?${given}= is a TLS option: use ${scheme}s:// for TLS`);
    return undefined;
  }
  const reject = options.get('rejectUnauthorized');
  if (reject !== null && reject !== 'true' && reject !== 'false') throw bad(uri, 'rejectUnauthorized must be true or false');
  const tls: RemoteTls = { rejectUnauthorized: reject !== 'false' };
  for (const o of ['ca', 'cert', 'key', 'servername'] as const) {
    const v = options.get(o);
    if (v === '') throw bad(uri, `?${o}= is empty`);
    if (v !== null) tls[o] = v;
  }
  if ((tls.cert === undefined) !== (tls.key === undefined)) throw bad(uri, 'a client certificate needs both ?cert= and ?key=');
  return tls;
}

/**
 * The user info of a remote endpoint URI anywhere in a text (the user info ends at the authority's
 * last '@', as the WHATWG URL parser reads it; the user name may hold an unencoded '@' too:
 * `amqps://us@er:pa:ss@host` logs in as `us@er` with `pa:ss`).
 */
const USERINFO = /\b((?:mqtt|amqp)s?:\/\/[^:/?#\s"'`]*):[^/?#\s"'`]*@/g;
/** Everything up to the last '@' of a URI that does not parse. */
const UNPARSED_USERINFO = /\b((?:mqtt|amqp)s?:\/\/)[^\s"'`]*@/g;
/** An option and its value; the name is percent-decoded before it is compared (URLSearchParams reads `pass%77ord` as `password`). */
const OPTION = /([?&#])([^=&#\s"'`]*)=([^&#\s"'`]*)/g;

function maskPassword(whole: string, sep: string, name: string): string {
  let decoded = name;
  try {
    decoded = decodeURIComponent(name.replace(/\+/g, ' '));
  } catch {
    // Not valid percent-encoding: URLSearchParams keeps such a name as it is.
  }
  return decoded === 'password' ? `${sep}${name}=***` : whole;
}

/**
 * `text` (an endpoint URI, or any text that may hold some) with the secrets of remote endpoint URIs
 * masked, for everything that shows an endpoint (log lines, errors, route listings and graphs): the
 * password of the user info (`amqp://user:***@host`) and the value of every `password` option
 * (`?password=***`). Anything else is returned as it is; so is a text without secrets.
 */
export function redactUri(text: string): string {
  return text.replace(USERINFO, '$1:***@').replace(OPTION, maskPassword);
}

/**
 * A copy of `value` (a route definition) with {@link redactUri} applied to every string in it (arrays
 * and plain objects walked; functions and other objects as they are), for route listings.
 */
export function redactSecrets<T>(value: T): T {
  if (typeof value === 'string') return redactUri(value) as T;
  if (Array.isArray(value)) return value.map((v: unknown) => redactSecrets(v)) as T;
  if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactSecrets(v)])) as T;
  }
  return value;
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

/** The schemes of remote endpoints: the protocol, and whether over TLS; default ports as IANA's. */
const REMOTE_SCHEMES: Readonly<Record<string, { protocol: 'mqtt' | 'amqp'; secure: boolean; port: number }>> = {
  mqtt: { protocol: 'mqtt', secure: false, port: 1883 },
  mqtts: { protocol: 'mqtt', secure: true, port: 8883 },
  amqp: { protocol: 'amqp', secure: false, port: 5672 },
  amqps: { protocol: 'amqp', secure: true, port: 5671 },
};

/** The query options that only mean something over TLS. */
const TLS_OPTIONS = ['ca', 'cert', 'key', 'rejectUnauthorized', 'servername'] as const;

/**
 * Parses `queue:NAME`, `topic:NAME`, `mqtt[s]://[user:pass@]host:port/topic/filter`,
 * `amqp[s]://[user:pass@]host:port/address`, `timer:NAME?period=ms`, `log:NAME`. An error names the
 * URI with its secrets masked ({@link redactUri}).
 */
export function parseEndpoint(uri: string): EndpointUri {
  const colon = uri.indexOf(':');
  if (colon <= 0) throw bad(uri, 'expected scheme:name (queue:, topic:, mqtt[s]://, amqp[s]://, timer:, log:)');
  const scheme = uri.slice(0, colon);
  const remote = Object.hasOwn(REMOTE_SCHEMES, scheme) ? REMOTE_SCHEMES[scheme] : undefined;
  if (remote) {
    const mqttLike = remote.protocol === 'mqtt';
    let u: URL;
    try {
      u = new URL(uri);
    } catch {
      throw bad(uri, `expected ${scheme}://host:port/${mqttLike ? 'topic/filter' : 'address'}`);
    }
    const path = decodeURIComponent(u.pathname.slice(1));
    if (path === '') throw bad(uri, mqttLike ? 'no topic after host:port' : 'no address after host:port');
    const port = u.port === '' ? remote.port : Number(u.port);
    // MQTT filters use '#', which a URL takes for a fragment: take the topic from the text itself.
    const slash = uri.indexOf('/', scheme.length + 3);
    const topic = mqttLike ? decodeURIComponent(uri.slice(slash + 1).split('?')[0]!) : path;
    // The same for its options: after a '#' the URL has them in the fragment, not the query.
    const afterPath = uri.slice(slash + 1);
    const options = mqttLike ? new URLSearchParams(afterPath.includes('?') ? afterPath.slice(afterPath.indexOf('?') + 1) : '') : u.searchParams;
    const sendTimeout = sendTimeoutOf(uri, options);
    if (mqttLike) checkMqttOptions(uri, options);
    const tls = remoteTls(uri, scheme, remote.secure, options);
    const credentials = credentialsOf(u, options);
    // What logs name the endpoint by: no user info or query (`?password=`).
    const endpoint = `${scheme}://${u.hostname}:${port}/${mqttLike ? topic : path}`;
    const common: RemoteTarget = { host: u.hostname, port, uri, options, endpoint, ...(sendTimeout !== undefined ? { sendTimeout } : {}), ...(credentials ? { credentials } : {}), ...(tls ? { tls } : {}) };
    return mqttLike ? { scheme: 'mqtt', topic, ...common } : { scheme: 'amqp', address: path, ...common };
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
      throw bad(uri, `unknown scheme '${scheme}' (queue:, topic:, mqtt://, mqtts://, amqp://, amqps://, timer:, log:)`);
  }
}

/** Checks that a URI can be a route's `from` (sources) or a `to` (producers). */
export function checkEndpoint(uri: string, role: 'from' | 'to'): EndpointUri {
  const e = parseEndpoint(uri);
  if (role === 'from' && e.scheme === 'log') throw bad(uri, 'log: is not a source');
  if (role === 'to' && e.scheme === 'timer') throw bad(uri, 'timer: is not a destination');
  return e;
}
