import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { JunctionError } from '../../errors.ts';
import type { RemoteTarget } from './endpoint-uri.ts';

/** What `tls.connect` (under MQTT.js and rhea) is given for an `mqtts://` or `amqps://` endpoint. */
export interface TlsConnectOptions {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  rejectUnauthorized: boolean;
  servername?: string;
}

/**
 * The TLS options of a remote endpoint with its PEM files read, or undefined for a plaintext one.
 * Read when the endpoint connects (its route starts, or its first send), so a renewed file is taken
 * at the next start; a file that cannot be read fails the endpoint with its path and the reason.
 */
export function tlsConnectOptions(target: RemoteTarget): TlsConnectOptions | undefined {
  const t = target.tls;
  if (!t) return undefined;
  const read = (what: 'ca' | 'cert' | 'key', file: string | undefined): Buffer | undefined => {
    if (file === undefined) return undefined;
    try {
      return readFileSync(file);
    } catch (err) {
      throw new JunctionError('ERR_ROUTE_ENDPOINT', `${target.endpoint}: ?${what}=${file} cannot be read: ${(err as Error).message}`, { cause: err });
    }
  };
  const out: TlsConnectOptions = { rejectUnauthorized: t.rejectUnauthorized };
  const ca = read('ca', t.ca);
  const cert = read('cert', t.cert);
  const key = read('key', t.key);
  if (ca) out.ca = ca;
  if (cert) out.cert = cert;
  if (key) out.key = key;
  if (t.servername !== undefined) out.servername = t.servername;
  // An IP address is no SNI name (RFC 6066 §3; Node warns, and rhea would send it): none, and the
  // certificate is checked against the IP (its SAN `IP:`), as tls.connect does without a servername.
  else if (isIP(target.host) !== 0) out.servername = '';
  return out;
}
