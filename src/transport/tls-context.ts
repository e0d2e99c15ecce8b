import { readFile } from 'node:fs/promises';
import { X509Certificate, constants as cryptoConstants } from 'node:crypto';
import path from 'node:path';
import tls from 'node:tls';
import { JunctionError } from '../errors.ts';
import { watchFiles } from '../file-watch.ts';
import type { Logger } from '../log.ts';
import { LogBurst } from './log-burst.ts';
import { rfc4514 } from './peer-certificate.ts';
import type { TlsConfig } from './tls-config.ts';

/** A TLS listener's server (tls.Server, https.Server): new connections get the context last set. */
export interface SecureContextTarget {
  setSecureContext(options: tls.SecureContextOptions): void;
}

/** The files as read, and what the log says about the certificate. */
interface Material {
  readonly key: Buffer;
  readonly cert: Buffer;
  readonly ca: Buffer | undefined;
  readonly options: tls.SecureContextOptions;
  readonly certificate: { subject: string; validTo: string; fingerprint256: string };
}

/** Changes to the watched files within this many ms are one reload (a certificate and its key written one after the other). */
const WATCH_DEBOUNCE = 300;
/** Failed handshakes logged one by one per burst, then counted every 10 s (any client can fail one at will). */
const HANDSHAKE_LINES = 20;
const HANDSHAKE_PERIOD = 10_000;

/**
 * OpenSSL's verdict on a first record that is not TLS at all: a plaintext client (STOMP `CONNECT`,
 * an MQTT CONNECT, the AMQP header, an HTTP request) on a TLS port.
 */
const PLAINTEXT_CODES = new Set(['ERR_SSL_WRONG_VERSION_NUMBER', 'ERR_SSL_HTTP_REQUEST', 'ERR_SSL_HTTPS_PROXY_REQUEST', 'ERR_SSL_PACKET_LENGTH_TOO_LONG', 'ERR_SSL_RECORD_LAYER_FAILURE']);

/**
 * The broker's TLS material (`tls` in the config), shared by every TLS listener: the options their
 * servers are made with, and the reload of the key, certificate and CA without a restart. A reload
 * (a watched file changed, or {@link reload} on SIGHUP) reads the files, builds a secure context
 * from them to check them (OpenSSL refuses a key that does not match the certificate) and only then
 * hands them to every listener's `setSecureContext`: new connections get the new certificate,
 * open ones keep theirs. A file that does not load keeps the old material, and says why in the log.
 */
export class TlsContext {
  readonly config: TlsConfig;
  private readonly log: Logger;
  private material: Material;
  private readonly targets = new Set<SecureContextTarget>();
  /** Stops the file watch (none until started). */
  private unwatch: () => void = () => {};
  /** Reloads run one after another, never two reading the files at once. */
  private reloading: Promise<boolean> = Promise.resolve(true);
  private readonly handshakeLog: LogBurst;

  private constructor(config: TlsConfig, log: Logger, material: Material) {
    this.config = config;
    this.log = log;
    this.material = material;
    this.handshakeLog = new LogBurst(HANDSHAKE_LINES, HANDSHAKE_PERIOD, (counts, total) =>
      log.info({ code: 'ERR_TRANSPORT_TLS_HANDSHAKE', failed: total, byKind: Object.fromEntries(counts), periodMs: HANDSHAKE_PERIOD }, 'TLS handshakes failed (counted, no longer logged one by one)'),
    );
  }

  /** Loads `tls.key`, `tls.cert` and `tls.ca`; a file that does not load refuses the start (ERR_TRANSPORT_TLS_CONFIG). */
  static async open(config: TlsConfig, log: Logger): Promise<TlsContext> {
    const ctx = new TlsContext(config, log, await loadMaterial(config));
    log.info({ ...ctx.material.certificate, clientAuth: config.clientAuth, minVersion: config.minVersion }, 'TLS certificate loaded');
    if (config.watch) ctx.watch();
    return ctx;
  }

  /** The options of a TLS listener's server (tls.createServer, https.createServer). */
  serverOptions(): tls.TlsOptions {
    return {
      ...this.material.options,
      // clientAuth (Artemis's want/needClientAuth): ask for a certificate; refuse the handshake without a verified one.
      requestCert: this.config.clientAuth !== 'none',
      rejectUnauthorized: this.config.clientAuth === 'need',
      handshakeTimeout: this.config.handshakeTimeout,
    };
  }

  /** The certificate the listeners present now (subject, expiry, SHA-256 fingerprint). */
  get certificate(): Material['certificate'] {
    return this.material.certificate;
  }

  /** A listener's server, given every reloaded certificate from now on. */
  attach(server: SecureContextTarget): void {
    this.targets.add(server);
  }

  /**
   * Reads the files again and, when they load and differ from what the listeners have, hands them to
   * every listener. Resolves true when the listeners have what the files hold now (changed or not),
   * false when a file did not load (the old material stays; logged at error with the reason).
   */
  reload(trigger: 'watch' | 'reload' = 'reload'): Promise<boolean> {
    this.reloading = this.reloading.then(() => this.reloadNow(trigger));
    return this.reloading;
  }

  private async reloadNow(trigger: string): Promise<boolean> {
    let next: Material;
    try {
      next = await loadMaterial(this.config);
    } catch (err) {
      this.log.error({ code: 'ERR_TRANSPORT_TLS_CONFIG', trigger, reason: (err as Error).message, kept: this.material.certificate }, 'TLS reload failed: the listeners keep the certificate they have');
      return false;
    }
    const old = this.material;
    if (old.key.equals(next.key) && old.cert.equals(next.cert) && equalOrBoth(old.ca, next.ca)) return true;
    for (const t of this.targets) t.setSecureContext(next.options);
    this.material = next;
    this.log.info({ trigger, ...next.certificate, previous: old.certificate.fingerprint256 }, 'TLS certificate reloaded: new connections get it, open ones keep theirs');
    return true;
  }

  /** Reloads when a file is replaced (file-watch.ts: by rename, or by a Kubernetes secret's `..data` swap). */
  private watch(): void {
    const files = [this.config.key, this.config.cert, this.config.ca].filter((f): f is string => f !== undefined);
    this.unwatch = watchFiles(files, {
      debounceMs: WATCH_DEBOUNCE,
      onChange: () => void this.reload('watch'),
      onError: (err, dir) => this.log.warn({ err, dir }, 'cannot watch the TLS files: certificate changes in this directory need a reload (SIGHUP)'),
    });
  }

  /**
   * A TLS client's handshake failed (tls.Server 'tlsClientError'): the socket is destroyed (Node
   * leaves it open) and one line logged per burst: a plaintext client on the TLS port at warn (a
   * misconfigured client to fix), a handshake timeout, a refused version (TLS 1.1) or a client
   * certificate that does not verify at info.
   */
  handshakeFailed(listener: string, socket: { remoteAddress?: string; remotePort?: number; destroy(): void }, err: Error & { code?: string }): void {
    socket.destroy();
    const code = err.code ?? 'unknown';
    const plaintext = PLAINTEXT_CODES.has(code);
    const kind = plaintext ? 'plaintext' : code === 'ERR_TLS_HANDSHAKE_TIMEOUT' ? 'timeout' : code === 'ECONNRESET' ? 'reset' : 'failed';
    if (!this.handshakeLog.admit(`${listener} ${kind}`)) return;
    const fields = { code: 'ERR_TRANSPORT_TLS_HANDSHAKE', listener, remote: `${socket.remoteAddress}:${socket.remotePort}`, reason: code, detail: err.message.split('\n')[0] };
    if (plaintext) this.log.warn(fields, 'plaintext client on a TLS listener: closed (it must connect with TLS, or to the plaintext port)');
    else this.log.info(fields, kind === 'timeout' ? 'TLS handshake not completed in time: closed' : 'TLS handshake failed: closed');
  }

  /** Stops watching (broker shutdown). */
  close(): void {
    this.unwatch();
    this.handshakeLog.close();
  }
}

function equalOrBoth(a: Buffer | undefined, b: Buffer | undefined): boolean {
  return a === undefined || b === undefined ? a === b : a.equals(b);
}

/** Reads and checks the files; a JunctionError (ERR_TRANSPORT_TLS_CONFIG) names the file and the reason. */
async function loadMaterial(config: TlsConfig): Promise<Material> {
  const read = async (field: 'key' | 'cert' | 'ca'): Promise<Buffer | undefined> => {
    const file = config[field];
    if (file === undefined) return undefined;
    try {
      return await readFile(file);
    } catch (err) {
      throw fail(`tls.${field} ${file}: ${(err as Error).message}`, err);
    }
  };
  const [key, cert, ca] = await Promise.all([read('key'), read('cert'), read('ca')]);
  if (key === undefined || cert === undefined) throw fail('tls.key and tls.cert must both be set');
  // No renegotiation (TLS 1.2; 1.3 has none): each one costs the server a full handshake's key
  // exchange, and Node's own limit (tls.CLIENT_RENEG_LIMIT, 3 per 10 min) only emits an 'error'
  // that the connection's error listener took as the close reason, so a client renegotiated at
  // will (seen with `openssl s_client -tls1_2` and `R`). OpenSSL 3 alone refuses client renegotiation
  // (Mosquitto 2 on it does); Node allows it for its limit to count.
  const options: tls.SecureContextOptions = { key, cert, ...(ca !== undefined ? { ca } : {}), minVersion: config.minVersion, secureOptions: cryptoConstants.SSL_OP_NO_RENEGOTIATION };
  try {
    // What the listeners would do with them: OpenSSL parses both and checks that the key matches.
    tls.createSecureContext(options);
  } catch (err) {
    throw fail(`tls.key ${config.key} / tls.cert ${config.cert}: ${(err as Error).message}`, err);
  }
  // createSecureContext takes any bytes as a CA (it adds what parses): every block must be a certificate.
  if (ca !== undefined) checkCertificates(ca, `tls.ca ${config.ca}`);
  const leaf = new X509Certificate(cert);
  return { key, cert, ca, options, certificate: { subject: rfc4514(leaf.subject), validTo: leaf.validTo, fingerprint256: leaf.fingerprint256 } };
}

function checkCertificates(pem: Buffer, what: string): void {
  const blocks = pem.toString('latin1').match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g);
  if (!blocks) throw fail(`${what}: no PEM certificate in it`);
  for (const b of blocks) {
    try {
      new X509Certificate(b);
    } catch (err) {
      throw fail(`${what}: ${(err as Error).message}`, err);
    }
  }
}

function fail(message: string, cause?: unknown): JunctionError {
  return new JunctionError('ERR_TRANSPORT_TLS_CONFIG', message, cause === undefined ? undefined : { cause });
}
