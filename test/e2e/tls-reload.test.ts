import assert from 'node:assert/strict';
import { copyFile, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import tls from 'node:tls';
import { startBroker } from '../helpers/broker.ts';
import { BrokerProcess } from '../helpers/broker-process.ts';
import { captureLog, type LogCapture } from '../helpers/log-capture.ts';
import { makeCerts, type TestCerts } from '../helpers/tls-certs.ts';

/*
 * Certificates reload without a restart (issue 14 part 4): on a change of the files (watched) and on
 * Broker.reload() (SIGHUP). A client connected before keeps its TLS session and goes on working; a
 * new client gets the new certificate (told apart by its SHA-256 fingerprint, and by its CA); a new
 * file that does not load keeps the old certificate and says why.
 */

let first: TestCerts;
let second: TestCerts;
before(async () => {
  [first, second] = await Promise.all([makeCerts('device1'), makeCerts('device2')]);
});
after(async () => {
  await first.remove();
  await second.remove();
});

/** A directory the broker reads its certificate from, filled with `from`'s server certificate and key. */
async function liveDir(from: TestCerts): Promise<{ dir: string; cert: string; key: string; install(c: TestCerts): Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'junction-tls-live-'));
  const cert = path.join(dir, 'server.pem');
  const key = path.join(dir, 'server-key.pem');
  // As certbot and most tools do: write aside, then rename over the old file.
  const put = async (src: string, dst: string) => {
    await copyFile(src, `${dst}.new`);
    await rename(`${dst}.new`, dst);
  };
  const install = async (c: TestCerts) => {
    await put(c.key, key);
    await put(c.cert, cert);
  };
  await install(from);
  return { dir, cert, key, install };
}

/** A STOMP client over TLS trusting both test CAs, connected; resolves with the socket and the fingerprint it saw. */
async function stompClient(port: number): Promise<{ socket: tls.TLSSocket; fingerprint: string; request(frame: string, until: string): Promise<string> }> {
  const socket = await new Promise<tls.TLSSocket>((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, ca: [first.caPem, second.caPem] }, () => resolve(s));
    s.once('error', reject);
  });
  const request = (frame: string, until: string) =>
    new Promise<string>((resolve, reject) => {
      let text = '';
      const onData = (d: Buffer) => {
        text += d.toString();
        if (text.includes(until)) {
          socket.off('data', onData);
          resolve(text);
        }
      };
      socket.on('data', onData);
      socket.once('close', () => reject(new Error(`closed before ${until}: ${text}`)));
      socket.write(frame);
    });
  await request('CONNECT\naccept-version:1.2\nhost:localhost\n\n\0', 'CONNECTED');
  return { socket, fingerprint: socket.getPeerX509Certificate()!.fingerprint256, request };
}

/** The fingerprint a new TLS client sees on `port` (the handshake only). */
function fingerprintOn(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, ca: [first.caPem, second.caPem] }, () => {
      resolve(s.getPeerX509Certificate()!.fingerprint256);
      s.destroy();
    });
    s.once('error', reject);
  });
}

function nextLine(log: LogCapture, msg: RegExp, after: number): Promise<Record<string, unknown>> {
  return log.waitFor((l) => log.lines.indexOf(l) >= after && typeof l.msg === 'string' && msg.test(l.msg), String(msg));
}

test('a changed certificate file is taken without a restart: the connected client goes on, a new one gets the new certificate', async (t) => {
  const live = await liveDir(first);
  t.after(() => rm(live.dir, { recursive: true, force: true }));
  const log = captureLog('info');
  const broker = await startBroker({ tls: { cert: live.cert, key: live.key, ports: { stomp: 0, mqtt: 0, amqp: 0, ws: 0 } } }, { logger: log.logger });
  t.after(() => broker.stop());
  const old = await stompClient(broker.ports.stompSsl!);
  t.after(() => old.socket.destroy());
  assert.equal(old.fingerprint, first.serverFingerprint);

  let mark = log.lines.length;
  await live.install(second);
  const reloaded = await nextLine(log, /^TLS certificate reloaded/, mark);
  assert.equal(reloaded.fingerprint256, second.serverFingerprint);
  assert.equal(reloaded.previous, first.serverFingerprint);
  assert.equal(reloaded.trigger, 'watch');

  // The client connected before keeps its session and is served.
  const receipt = await old.request('SEND\ndestination:/queue/reload\nreceipt:r1\n\nstill here\0', 'receipt-id:r1');
  assert.match(receipt, /^RECEIPT/);
  // New clients, on every TLS listener, get the new certificate.
  for (const port of [broker.ports.stompSsl!, broker.ports.mqttSsl!, broker.ports.amqps!, broker.ports.wss!]) assert.equal(await fingerprintOn(port), second.serverFingerprint, `port ${port}`);
  const fresh = await stompClient(broker.ports.stompSsl!);
  t.after(() => fresh.socket.destroy());
  assert.equal(fresh.fingerprint, second.serverFingerprint);

  // A bad new file: the listeners keep what they have, and the log says why.
  mark = log.lines.length;
  await writeFile(`${live.cert}.new`, '-----BEGIN CERTIFICATE-----\nbroken\n-----END CERTIFICATE-----\n');
  await rename(`${live.cert}.new`, live.cert);
  const failed = await nextLine(log, /^TLS reload failed/, mark);
  assert.equal(failed.level, 50);
  assert.equal(failed.code, 'ERR_TRANSPORT_TLS_CONFIG');
  assert.match(String(failed.reason), /server\.pem/);
  assert.equal(await fingerprintOn(broker.ports.stompSsl!), second.serverFingerprint);
  const msg = await fresh.request('SUBSCRIBE\nid:1\ndestination:/queue/reload\n\n\0', 'still here');
  assert.match(msg, /^MESSAGE/);
});

test('Broker.reload() (SIGHUP) reloads the certificate when files are not watched; a key that does not match keeps the old one and rejects', async (t) => {
  const live = await liveDir(first);
  t.after(() => rm(live.dir, { recursive: true, force: true }));
  const log = captureLog('info');
  const broker = await startBroker({ tls: { cert: live.cert, key: live.key, watch: false, ports: { stomp: 0, mqtt: 0, amqp: 0, ws: 0 } } }, { logger: log.logger });
  t.after(() => broker.stop());
  assert.equal(await fingerprintOn(broker.ports.mqttSsl!), first.serverFingerprint);

  // The second certificate with the first key: OpenSSL's key check refuses it.
  await copyFile(second.cert, `${live.cert}.new`);
  await rename(`${live.cert}.new`, live.cert);
  let mark = log.lines.length;
  // reload() rejects when a part could not reload (the others still do theirs).
  await assert.rejects(broker.reload(), { code: 'ERR_TRANSPORT_TLS_CONFIG' });
  const failed = await nextLine(log, /^TLS reload failed/, mark);
  assert.match(String(failed.reason), /key values mismatch/);
  assert.equal(await fingerprintOn(broker.ports.mqttSsl!), first.serverFingerprint);

  await live.install(second);
  mark = log.lines.length;
  await broker.reload();
  const line = await nextLine(log, /^TLS certificate reloaded/, mark);
  assert.equal(line.trigger, 'reload');
  assert.equal(await fingerprintOn(broker.ports.mqttSsl!), second.serverFingerprint);
  assert.equal(await fingerprintOn(broker.ports.wss!), second.serverFingerprint);
});

test('SIGHUP to `junction start` reloads the certificate (JUNCTION_TLS_CERT/KEY, tls.watch false)', async (t) => {
  const live = await liveDir(first);
  const dataDir = await mkdtemp(path.join(tmpdir(), 'junction-tls-sighup-'));
  t.after(() => Promise.all([rm(live.dir, { recursive: true, force: true }), rm(dataDir, { recursive: true, force: true })]));
  const config = path.join(dataDir, 'junction.json');
  await writeFile(config, JSON.stringify({ tls: { watch: false, ports: { stomp: 0, mqtt: 0, amqp: 0, ws: 0 } } }));
  const broker = await BrokerProcess.start({ dataDir, args: ['--config', config], env: { JUNCTION_TLS_CERT: live.cert, JUNCTION_TLS_KEY: live.key } });
  t.after(() => broker.stop());
  const ports = broker.ports as unknown as Record<string, number>;
  assert.equal(await fingerprintOn(ports.stompSsl!), first.serverFingerprint);
  const connected = await stompClient(ports.stompSsl!);
  t.after(() => connected.socket.destroy());
  await live.install(second);
  broker.child.kill('SIGHUP');
  // The reload is done when a new client sees the new certificate (nothing else to wait on in another process).
  for (let i = 0; i < 100 && (await fingerprintOn(ports.stompSsl!)) !== second.serverFingerprint; i++) await new Promise((r) => setTimeout(r, 50));
  assert.equal(await fingerprintOn(ports.stompSsl!), second.serverFingerprint);
  assert.match(broker.output(), /TLS certificate reloaded/);
  assert.match(await connected.request('SEND\ndestination:/queue/sighup\nreceipt:r9\n\nx\0', 'receipt-id:r9'), /^RECEIPT/);
});
