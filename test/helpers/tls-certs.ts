import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { X509Certificate } from 'node:crypto';

const SCRIPT = path.resolve(import.meta.dirname, '../../examples/tls/make-certs.sh');

/** What examples/tls/make-certs.sh made: file paths, and the PEM texts the clients are given. */
export interface TestCerts {
  readonly dir: string;
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
  readonly clientCert: string;
  readonly clientKey: string;
  readonly caPem: Buffer;
  readonly clientCertPem: Buffer;
  readonly clientKeyPem: Buffer;
  /** SHA-256 fingerprint of the server certificate (`AA:BB:...`). */
  readonly serverFingerprint: string;
  /** SHA-256 fingerprint of the client certificate. */
  readonly clientFingerprint: string;
  remove(): Promise<void>;
}

/** Runs the repository's certificate script (openssl) into `dir`, or a new temp dir; `clientCn` is the client certificate's CN. */
export async function makeCerts(clientCn = 'device1', dir?: string): Promise<TestCerts> {
  const out = dir ?? (await mkdtemp(path.join(tmpdir(), 'junction-tls-')));
  await new Promise<void>((resolve, reject) =>
    execFile('bash', [SCRIPT, out, clientCn], { timeout: 60_000 }, (err, _stdout, stderr) => (err ? reject(new Error(`make-certs.sh failed: ${stderr}`)) : resolve())),
  );
  const p = (f: string) => path.join(out, f);
  const [caPem, clientCertPem, clientKeyPem, serverPem] = await Promise.all([readFile(p('ca.pem')), readFile(p('client.pem')), readFile(p('client-key.pem')), readFile(p('server.pem'))]);
  return {
    dir: out,
    ca: p('ca.pem'),
    cert: p('server.pem'),
    key: p('server-key.pem'),
    clientCert: p('client.pem'),
    clientKey: p('client-key.pem'),
    caPem,
    clientCertPem,
    clientKeyPem,
    serverFingerprint: new X509Certificate(serverPem).fingerprint256,
    clientFingerprint: new X509Certificate(clientCertPem).fingerprint256,
    remove: () => rm(out, { recursive: true, force: true }),
  };
}

/** The `tls` config of a test broker with these certificates, every TLS listener on a free port. */
export function tlsConfig(c: TestCerts, extra: Record<string, unknown> = {}) {
  return { cert: c.cert, key: c.key, ca: c.ca, ports: { stomp: 0, mqtt: 0, amqp: 0, ws: 0, https: 0 }, ...extra };
}
