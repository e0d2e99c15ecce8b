import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import tls from 'node:tls';
import { WebSocket } from 'ws';
import type { TransportConnection } from '../../src/transport/connection.ts';
import { TcpServer } from '../../src/transport/tcp-server.ts';
import { TlsContext } from '../../src/transport/tls-context.ts';
import { ConfigSchema } from '../../src/config/schema.ts';
import { createTransportGuards } from '../../src/transport/transport-guards.ts';
import { WsServer } from '../../src/transport/ws-server.ts';
import { captureLog } from '../helpers/log-capture.ts';
import { makeCerts, type TestCerts } from '../helpers/tls-certs.ts';

/*
 * mTLS: the client certificate a TLS listener verified is the connection's `tls.peerCertificate`
 * (subject DN in RFC 4514 order, SANs, SHA-256 fingerprint), over TCP TLS and WSS. Checked with a
 * recording acceptor in place of a protocol adapter (the protocols pass it to their login as
 * `LoginRequest.certificate`), with real TLS clients holding the certificate examples/tls/make-certs.sh made.
 */

let certs: TestCerts;
let other: TestCerts;
before(async () => {
  certs = await makeCerts('device1');
  other = await makeCerts('intruder'); // signed by another CA
});
after(async () => {
  await certs.remove();
  await other.remove();
});

/** A TCP TLS listener and a WSS listener with `clientAuth`, handing their connections to a recorder. */
async function listeners(t: { after(fn: () => unknown): void }, clientAuth: 'none' | 'want' | 'need') {
  const log = captureLog('info');
  const config = ConfigSchema.parse({ tls: { cert: certs.cert, key: certs.key, ca: certs.ca, clientAuth } });
  const guards = createTransportGuards(config.connections, log.logger);
  const context = await TlsContext.open(config.tls, log.logger);
  const accepted: TransportConnection[] = [];
  const waiters: Array<() => void> = [];
  const acceptor = {
    accept(conn: TransportConnection) {
      accepted.push(conn);
      for (const w of waiters.splice(0)) w();
    },
  };
  const tcp = new TcpServer(acceptor, guards, 'stomp', { name: 'stompSsl', context });
  const tcpPort = await tcp.listen(0, '127.0.0.1');
  const ws = new WsServer(guards, context);
  ws.register('stomp', ['v12.stomp'], acceptor, { maxPayload: 65536, isDefault: true });
  const wsPort = await ws.listen(0, '127.0.0.1');
  t.after(async () => {
    await ws.close();
    await tcp.close();
    context.close();
    guards.gate.close();
  });
  /** The next connection accepted after the one `next` returned before (it may have come already). */
  let taken = 0;
  const next = async (): Promise<TransportConnection> => {
    while (accepted.length <= taken) await new Promise<void>((r) => waiters.push(r));
    return accepted[taken++]!;
  };
  return { tcpPort, wsPort, next, log, accepted };
}

function connect(port: number, withCert: TestCerts | undefined): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, ca: certs.caPem, ...(withCert ? { cert: withCert.clientCertPem, key: withCert.clientKeyPem } : {}) }, () => resolve(s));
    s.once('error', reject);
  });
}

function wss(port: number, withCert: TestCerts | undefined): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`wss://localhost:${port}`, ['v12.stomp'], { ca: certs.caPem, ...(withCert ? { cert: withCert.clientCertPem, key: withCert.clientKeyPem } : {}) });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

const DEVICE1 = () => ({ subject: 'CN=device1,O=Junction Example', subjectAltNames: ['email:device1@example.com'], fingerprint256: certs.clientFingerprint });

test('clientAuth want: a verified client certificate is the peerCertificate, over TCP TLS and WSS; none without one', async (t) => {
  const l = await listeners(t, 'want');
  const s = await connect(l.tcpPort, certs);
  t.after(() => s.destroy());
  const conn = await l.next();
  assert.equal(conn.kind, 'tcp');
  assert.deepEqual(conn.tls?.peerCertificate, DEVICE1());

  const ws = await wss(l.wsPort, certs);
  t.after(() => ws.terminate());
  const wconn = await l.next();
  assert.equal(wconn.kind, 'ws');
  assert.deepEqual(wconn.tls?.peerCertificate, DEVICE1());

  // No certificate: connected over TLS, no certificate identity.
  const anon = await connect(l.tcpPort, undefined);
  t.after(() => anon.destroy());
  const aconn = await l.next();
  assert.ok(aconn.tls, 'a TLS connection says so');
  assert.equal(aconn.tls.peerCertificate, undefined);

  // A certificate of another CA: connected (want), but it verifies nothing, so it is no identity.
  const forged = await connect(l.tcpPort, other);
  t.after(() => forged.destroy());
  const fconn = await l.next();
  assert.equal(fconn.tls?.peerCertificate, undefined);
});

test('clientAuth need: no certificate, or one of another CA, fails the handshake; a verified one connects', async (t) => {
  const l = await listeners(t, 'need');
  for (const [who, c] of [['no certificate', undefined], ['another CA', other]] as const) {
    // TLS 1.3: the client learns of the refusal after its handshake, at its first read.
    const failed = await connect(l.tcpPort, c).then(
      (s) =>
        new Promise<boolean>((resolve) => {
          s.once('error', () => resolve(true));
          s.once('close', () => resolve(true));
          s.write('CONNECT\n\n\0');
        }),
      () => true,
    );
    assert.ok(failed, who);
    const wsFailed = await wss(l.wsPort, c).then(
      (ws) => (ws.terminate(), false),
      () => true,
    );
    assert.ok(wsFailed, `${who} over WSS`);
  }
  assert.equal(l.accepted.length, 0, 'a refused client reached the protocol');
  await l.log.waitFor((x) => x.code === 'ERR_TRANSPORT_TLS_HANDSHAKE' && x.listener === 'stompSsl', 'refusal logged');
  const s = await connect(l.tcpPort, certs);
  t.after(() => s.destroy());
  assert.deepEqual((await l.next()).tls?.peerCertificate, DEVICE1());
});

test('clientAuth none: no certificate is asked for, so none is known; a plaintext listener has no tls at all', async (t) => {
  const l = await listeners(t, 'none');
  const s = await connect(l.tcpPort, certs);
  t.after(() => s.destroy());
  const conn = await l.next();
  assert.ok(conn.tls);
  assert.equal(conn.tls.peerCertificate, undefined);
  const guards = createTransportGuards(ConfigSchema.parse({}).connections, captureLog('silent').logger);
  let plainConn: TransportConnection | undefined;
  const plain = new TcpServer({ accept: (c) => (plainConn = c) }, guards, 'stomp');
  const port = await plain.listen(0, '127.0.0.1');
  t.after(() => plain.close());
  const { connect: netConnect } = await import('node:net');
  const c = netConnect({ host: '127.0.0.1', port });
  t.after(() => c.destroy());
  while (!plainConn) await new Promise((r) => setTimeout(r, 10));
  assert.equal(plainConn.tls, undefined);
});
