import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { after, before, test } from 'node:test';
import tls from 'node:tls';
import { Client, type IMessage } from '@stomp/stompjs';
import mqtt from 'mqtt';
import rhea from 'rhea';
import { WebSocket } from 'ws';
import { ConfigSchema } from '../../src/config/schema.ts';
import { startBroker } from '../helpers/broker.ts';
import { captureLog } from '../helpers/log-capture.ts';
import { makeCerts, tlsConfig, type TestCerts } from '../helpers/tls-certs.ts';

/*
 * The TLS listeners (issue 14 part 4) with real clients over real TLS sockets: raw node:tls STOMP,
 * MQTT.js over mqtts:// and wss://, rhea over amqps, @stomp/stompjs over wss://, all on one broker
 * and across protocols; the certificate the client checks is the one examples/tls/make-certs.sh made.
 */

let certs: TestCerts;
before(async () => {
  certs = await makeCerts();
});
after(() => certs.remove());

/** A TLS connection that trusts the test CA, resolved once the handshake is done. */
function tlsConnect(port: number, opts: tls.ConnectionOptions = {}): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, ca: certs.caPem, ...opts }, () => resolve(s));
    s.once('error', reject);
  });
}

/** Reads from `s` until the text read so far satisfies `done`; rejects if the socket closes first. */
function readUntil(s: net.Socket, done: (text: string) => boolean, what: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const onData = (d: Buffer) => {
      text += d.toString('latin1');
      if (done(text)) {
        s.off('data', onData);
        s.off('close', onClose);
        resolve(text);
      }
    };
    const onClose = () => reject(new Error(`${what}: closed before it came; read ${JSON.stringify(text)}`));
    s.on('data', onData);
    s.once('close', onClose);
  });
}

function closed(s: net.Socket): Promise<void> {
  return new Promise((resolve) => (s.destroyed && s.closed ? resolve() : s.once('close', () => resolve())));
}

test('without tls.cert and tls.key no TLS listener starts; a certificate without its key is a config error', async (t) => {
  const broker = await startBroker();
  t.after(() => broker.stop());
  assert.deepEqual(Object.keys(broker.ports).sort(), ['amqp', 'http', 'mqtt', 'stomp', 'ws']);
  assert.throws(() => ConfigSchema.parse({ tls: { cert: 'a.pem' } }), /tls.cert and tls.key go together/);
  assert.throws(() => ConfigSchema.parse({ tls: { cert: 'a.pem', key: 'b.pem', clientAuth: 'need' } }), /needs tls.ca/);
  assert.throws(() => ConfigSchema.parse({ tls: { cert: 'a.pem', key: 'b.pem', minVersion: 'TLSv1.1' } }));
});

test('a key that does not load refuses the start, naming the file (ERR_TRANSPORT_TLS_CONFIG)', async () => {
  const bad = path.join(certs.dir, 'not-a-key.pem');
  await writeFile(bad, 'not a key\n');
  await assert.rejects(startBroker({ tls: { ...tlsConfig(certs), key: bad } }), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'ERR_TRANSPORT_TLS_CONFIG');
    assert.match(err.message, /not-a-key\.pem/);
    return true;
  });
  // A key of another certificate: OpenSSL's key check.
  await assert.rejects(startBroker({ tls: { ...tlsConfig(certs), key: certs.clientKey } }), { code: 'ERR_TRANSPORT_TLS_CONFIG', message: /key values mismatch/ });
});

test('STOMP, MQTT and AMQP over their TLS ports and over WSS reach one another, and ports.json names the TLS ports', async (t) => {
  const broker = await startBroker({ tls: tlsConfig(certs) });
  t.after(() => broker.stop());
  const p = broker.ports;
  for (const k of ['stompSsl', 'mqttSsl', 'amqps', 'wss'] as const) assert.ok((p[k] ?? 0) > 0, k);
  const file = JSON.parse(await readFile(path.join(broker.dataDir, 'ports.json'), 'utf8')) as Record<string, number>;
  assert.equal(file.stompSsl, p.stompSsl);
  assert.equal(file.wss, p.wss);

  // MQTT.js over mqtts:// subscribes; a raw STOMP client over TLS publishes to the same topic.
  const sub = await mqtt.connectAsync({ host: 'localhost', port: p.mqttSsl!, protocol: 'mqtts', ca: certs.caPem, reconnectPeriod: 0 });
  t.after(() => sub.endAsync(true));
  assert.equal((sub.stream as tls.TLSSocket).getProtocol?.() !== undefined, true);
  await sub.subscribeAsync('tls/a', { qos: 1 });
  const got = new Promise<string>((resolve) => sub.once('message', (_t, payload) => resolve(payload.toString())));
  const stomp = await tlsConnect(p.stompSsl!, { servername: 'localhost' });
  t.after(() => stomp.destroy());
  assert.ok(['TLSv1.2', 'TLSv1.3'].includes(stomp.getProtocol()!), stomp.getProtocol()!);
  assert.equal(stomp.getPeerX509Certificate()!.fingerprint256, certs.serverFingerprint);
  stomp.write('CONNECT\naccept-version:1.2\nhost:localhost\n\n\0');
  await readUntil(stomp, (s) => s.includes('CONNECTED'), 'CONNECTED');
  stomp.write('SEND\ndestination:/topic/tls.a\nreceipt:r1\n\nfrom stomp+ssl\0');
  await readUntil(stomp, (s) => s.includes('receipt-id:r1'), 'RECEIPT');
  assert.equal(await got, 'from stomp+ssl');

  // rhea over amqps sends to a queue; @stomp/stompjs over wss:// receives it.
  const container = rhea.create_container({ id: 'tls-amqps' });
  const conn = container.connect({ host: 'localhost', port: p.amqps!, transport: 'tls', ca: certs.caPem, reconnect: false });
  t.after(() => conn.close());
  const accepted = new Promise<void>((resolve, reject) => {
    const sender = conn.open_sender('tls-q');
    sender.once('sendable', () => sender.send({ body: 'from amqps', durable: true }));
    sender.once('accepted', () => resolve());
    conn.once('disconnected', (ctx) => reject(ctx.error ?? new Error('amqps disconnected')));
  });
  await accepted;
  const client = new Client({
    webSocketFactory: () => new WebSocket(`wss://localhost:${p.wss}`, ['v12.stomp'], { ca: certs.caPem }),
    reconnectDelay: 0,
    heartbeatIncoming: 0,
    heartbeatOutgoing: 0,
  });
  t.after(() => client.deactivate());
  const body = await new Promise<string>((resolve, reject) => {
    client.onConnect = () => client.subscribe('/queue/tls-q', (m: IMessage) => resolve(m.body));
    client.onWebSocketError = () => reject(new Error('stompjs over wss failed'));
    client.activate();
  });
  assert.equal(body, 'from amqps');

  // MQTT.js over wss:// (the `mqtt` subprotocol) publishes to itself.
  const ws = await mqtt.connectAsync(`wss://localhost:${p.wss}`, { ca: certs.caPem, reconnectPeriod: 0 } as mqtt.IClientOptions);
  t.after(() => ws.endAsync(true));
  await ws.subscribeAsync('tls/ws', { qos: 1 });
  const echoed = new Promise<string>((resolve) => ws.once('message', (_t, payload) => resolve(payload.toString())));
  await ws.publishAsync('tls/ws', 'over wss', { qos: 1 });
  assert.equal(await echoed, 'over wss');
});

test('a TLS 1.1 client is refused at the handshake, and logged once', async (t) => {
  const log = captureLog('info');
  const broker = await startBroker({ tls: tlsConfig(certs) }, { logger: log.logger });
  t.after(() => broker.stop());
  for (const port of [broker.ports.stompSsl!, broker.ports.wss!]) {
    const err = await tlsConnect(port, { minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' }).then(
      (s) => {
        s.destroy();
        return undefined;
      },
      (e: Error & { code?: string }) => e,
    );
    assert.ok(err, `port ${port}: a TLS 1.1 handshake succeeded`);
  }
  const line = await log.waitFor((l) => l.code === 'ERR_TRANSPORT_TLS_HANDSHAKE' && l.listener === 'stompSsl', 'handshake refusal on stompSsl');
  assert.equal(line.reason, 'ERR_SSL_UNSUPPORTED_PROTOCOL');
  await log.waitFor((l) => l.code === 'ERR_TRANSPORT_TLS_HANDSHAKE' && l.listener === 'wss', 'handshake refusal on wss');
  // TLS 1.2 still works on the same listener.
  const ok = await tlsConnect(broker.ports.stompSsl!, { maxVersion: 'TLSv1.2' });
  assert.equal(ok.getProtocol(), 'TLSv1.2');
  ok.destroy();
});

test('a silent TLS client holds a connection slot until tls.handshakeTimeout closes it; the slot is then free again', async (t) => {
  const log = captureLog('info');
  const broker = await startBroker({ connections: { maxPerAddress: 2 }, tls: tlsConfig(certs, { handshakeTimeout: 300 }) }, { logger: log.logger });
  t.after(() => broker.stop());
  const port = broker.ports.stompSsl!;
  const silent = net.connect({ host: '127.0.0.1', port });
  const silent2 = net.connect({ host: '127.0.0.1', port: broker.ports.wss! });
  await Promise.all([new Promise((r) => silent.once('connect', r)), new Promise((r) => silent2.once('connect', r))]);
  // While they hold both slots of 127.0.0.1 (a STOMP+SSL and a WSS one), another client is refused at accept.
  const refused = await tlsConnect(port).then(
    (s) => (s.destroy(), false),
    () => true,
  );
  assert.ok(refused, 'a third connection from the same address was admitted past maxPerAddress 2');
  await log.waitFor((l) => l.code === 'ERR_TRANSPORT_CONNECTION_LIMIT', 'connection limit line');
  // The broker closes the silent ones (the handshake timeout), then admits a new client.
  await Promise.all([closed(silent), closed(silent2)]);
  await log.waitFor((l) => l.code === 'ERR_TRANSPORT_TLS_HANDSHAKE' && l.msg === 'TLS handshake not completed in time: closed', 'handshake timeout line');
  let s: tls.TLSSocket | undefined;
  for (let i = 0; i < 50 && !s; i++) {
    // The release follows the close of the broker's side; the client may see its close first.
    s = await tlsConnect(port).catch(() => undefined);
    if (!s) await new Promise((r) => setTimeout(r, 20));
  }
  assert.ok(s, 'the slot was not given back after the handshake timeout');
  s.write('CONNECT\naccept-version:1.2\nhost:localhost\n\n\0');
  await readUntil(s, (x) => x.includes('CONNECTED'), 'CONNECTED');
  // The broker stops with a connected TLS client and a handshake under way: both are closed.
  s.on('error', () => {});
  const lingering = net.connect({ host: '127.0.0.1', port: broker.ports.mqttSsl! });
  lingering.on('error', () => {});
  await new Promise((r) => lingering.once('connect', r));
  await broker.stop();
  await Promise.all([closed(s), closed(lingering)]);
});

test('plaintext on a TLS port is closed and logged; another protocol inside TLS gets the listener answer, decrypted', async (t) => {
  const log = captureLog('info');
  const broker = await startBroker({ tls: tlsConfig(certs) }, { logger: log.logger });
  t.after(() => broker.stop());
  const plain = net.connect({ host: '127.0.0.1', port: broker.ports.stompSsl! });
  plain.on('error', () => {});
  plain.write('CONNECT\naccept-version:1.2\n\n\0');
  await closed(plain);
  await log.waitFor((l) => l.code === 'ERR_TRANSPORT_TLS_HANDSHAKE' && l.listener === 'stompSsl' && l.msg === 'plaintext client on a TLS listener: closed (it must connect with TLS, or to the plaintext port)', 'plaintext line');
  // An MQTT CONNECT over TLS to the STOMP+SSL port: the first-bytes check runs on the decrypted bytes.
  const s = await tlsConnect(broker.ports.stompSsl!);
  s.write(Buffer.from([0x10, 0x0c, 0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x04, 0x02, 0x00, 0x3c, 0x00, 0x00]));
  const answer = await readUntil(s, (x) => x.includes('\0'), 'STOMP ERROR');
  assert.match(answer, /^ERROR\nmessage:Wrong protocol/);
  assert.match(answer, /MQTT is on port \d+/);
  await closed(s);
});
