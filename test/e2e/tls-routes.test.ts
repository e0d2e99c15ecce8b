import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import mqtt from 'mqtt';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { retryUntil as until } from '../helpers/retry.ts';
import { captureLog, type LogCapture } from '../helpers/log-capture.ts';
import { freePort, listening } from '../helpers/ports.ts';
import { connectFor } from '../helpers/stompjs.ts';
import { makeCerts, tlsConfig, type TestCerts } from '../helpers/tls-certs.ts';

/*
 * Remote route endpoints over TLS (issue 14 part 4): a route on one Junction broker bridging to a
 * second Junction broker's AMQPS and MQTT-over-TLS ports, and to a Mosquitto TLS listener that
 * requires a password (so the credentials in the URI are really used), each verifying the remote's
 * certificate with `?ca=`. The passwords appear in no log line, route listing, route graph or error.
 */

const PW_AMQP = 'amqp-Secret-7f3a';
const PW_MQTT = 'mqtt-Secret-91cc';
const PW_MOSQ = 'mosq-Secret-42de';
const PW_BAD = 'wrong-Secret-0b1e';

let certs: TestCerts;
let remote: TestBroker;
let local: TestBroker;
let log: LogCapture;
before(async () => {
  certs = await makeCerts();
  remote = await startBroker({ tls: tlsConfig(certs, { clientAuth: 'want' }) });
  log = captureLog('debug');
  local = await startBroker({}, { logger: log.logger });
});
after(async () => {
  await local?.stop();
  await remote?.stop();
  await certs?.remove();
});

/** No log line, listing or graph of the local broker holds any of the passwords. */
function assertNoSecrets(where: string, text: string): void {
  for (const pw of [PW_AMQP, PW_MQTT, PW_MOSQ, PW_BAD]) assert.ok(!text.includes(pw), `${where} holds a password: ${text.slice(Math.max(0, text.indexOf(pw) - 200), text.indexOf(pw) + 50)}`);
}

test('a route sends to another broker over amqps:// with credentials in the URI and ?ca=', async (t) => {
  await local.routes.deploy({ id: 'to-amqps', from: 'queue:bridge.out', steps: [{ to: `amqps://bob:${PW_AMQP}@localhost:${remote.ports.amqps}/bridge.in?ca=${certs.ca}` }] });
  const producer = await connectFor(t, local);
  const consumer = await connectFor(t, remote);
  const received = await consumer.subscribe('/queue/bridge.in');
  await producer.send('/queue/bridge.out', 'over amqps');
  const m = await received.one();
  assert.equal(m.body, 'over amqps');
  const info = local.routes.list().find((r) => r.id === 'to-amqps')!;
  assert.equal(info.state, 'started');
  const described = local.routes.describe('to-amqps');
  assert.match(described.graph, /amqps:\/\/bob:\*\*\*@localhost/);
  assertNoSecrets('describe()', JSON.stringify(described));
});

test('a route consumes from another broker over mqtts:// with ?username=&password=, a client certificate and ?ca=', async (t) => {
  const uri = `mqtts://localhost:${remote.ports.mqttSsl}/bridge/+/temp?username=alice&password=${PW_MQTT}&ca=${certs.ca}&cert=${certs.clientCert}&key=${certs.clientKey}`;
  await local.routes.deploy({ id: 'from-mqtts', from: uri, steps: [{ to: 'queue:bridge.temps' }] });
  const consumer = await connectFor(t, local);
  const temps = await consumer.subscribe('/queue/bridge.temps');
  const device = await mqtt.connectAsync(`mqtt://127.0.0.1:${remote.ports.mqtt}`, { reconnectPeriod: 0 });
  t.after(() => device.endAsync(true));
  // The route subscribes once its client has connected: publish until the first message arrives.
  await until(async () => {
    await device.publishAsync('bridge/1/temp', '21.5', { qos: 1 });
    await temps.take(1, 300);
  });
  assertNoSecrets('list()', JSON.stringify(local.routes.list()));
  assert.match(local.routes.list().find((r) => r.id === 'from-mqtts')!.from, /password=\*\*\*/);
});

/** A Mosquitto TLS listener (Debian's, v2) that requires a user name and password; the user `carol`. */
async function startSecureMosquitto(t: { after(fn: () => unknown): void }): Promise<number> {
  const port = await freePort();
  const passwd = path.join(certs.dir, 'mosquitto.passwd');
  await writeFile(passwd, '');
  await new Promise<void>((resolve, reject) => execFile('/usr/bin/mosquitto_passwd', ['-b', passwd, 'carol', PW_MOSQ], (err) => (err ? reject(err) : resolve())));
  const conf = path.join(certs.dir, 'mosquitto.conf');
  await writeFile(
    conf,
    [`listener ${port} 127.0.0.1`, `cafile ${certs.ca}`, `certfile ${certs.cert}`, `keyfile ${certs.key}`, 'allow_anonymous false', `password_file ${passwd}`, 'user root', 'persistence false', ''].join('\n'),
  );
  const child = spawn('/usr/sbin/mosquitto', ['-c', conf], { stdio: 'ignore' });
  t.after(() => child.kill('SIGKILL'));
  assert.ok(await listening(port, 10_000, () => child.exitCode === null), 'mosquitto (TLS) did not start');
  return port;
}

test('mqtts:// to a Mosquitto that requires a password: the URI credentials pass, a wrong password is refused, neither is logged', async (t) => {
  const port = await startSecureMosquitto(t);
  const sub = await mqtt.connectAsync({ host: 'localhost', port, protocol: 'mqtts', ca: certs.caPem, username: 'carol', password: PW_MOSQ, reconnectPeriod: 0 });
  t.after(() => sub.endAsync(true));
  await sub.subscribeAsync('plant/commands', { qos: 1 });
  const got = new Promise<string>((resolve) => sub.once('message', (_topic, payload) => resolve(payload.toString())));
  await local.routes.deploy({ id: 'to-mosquitto-tls', from: 'queue:cmd.out', steps: [{ to: `mqtts://carol:${PW_MOSQ}@localhost:${port}/plant/commands?ca=${certs.ca}` }] });
  const producer = await connectFor(t, local);
  await producer.send('/queue/cmd.out', 'valve open');
  assert.equal(await got, 'valve open');

  // A wrong password: Mosquitto refuses the CONNECT; the endpoint is logged down, by its name only.
  const mark = log.lines.length;
  await local.routes.deploy({ id: 'bad-password', from: 'queue:cmd.bad', steps: [{ to: `mqtts://carol:${PW_BAD}@localhost:${port}/plant/commands?ca=${certs.ca}&sendTimeout=300` }] });
  await producer.send('/queue/cmd.bad', 'refused');
  const down = await log.waitFor((l) => log.lines.indexOf(l) >= mark && l.msg === 'remote endpoint down' && l.route === 'bad-password', 'bad password endpoint down');
  assert.equal(down.endpoint, `mqtts://localhost:${port}/plant/commands`);
  assert.match(String(down.reason), /Not authorized|Bad user name or password/i);
});

test('errors and every log line leave the passwords out', async () => {
  // A deploy error names the URI with its password masked.
  await assert.rejects(local.routes.deploy({ id: 'bad-uri', from: 'queue:x', steps: [{ to: `amqps://bob:${PW_AMQP}@localhost/q?rejectUnauthorized=maybe` }] }), (err: Error) => {
    assertNoSecrets('deploy error', err.message);
    assert.match(err.message, /bob:\*\*\*@localhost/);
    return true;
  });
  // A remote that is not there: the send fails (sendTimeout), logged with the URI masked.
  await local.routes.deploy({ id: 'nowhere', from: 'queue:nowhere.out', steps: [{ to: `amqps://bob:${PW_AMQP}@127.0.0.1:1/q?ca=${certs.ca}&sendTimeout=200` }] });
  const mark = log.lines.length;
  await local.core.send({ destination: { type: 'queue', name: 'nowhere.out' }, body: Buffer.from('x') });
  const failed = await log.waitFor((l) => log.lines.indexOf(l) >= mark && l.route === 'nowhere' && l.msg === 'route step failed', 'nowhere send failed');
  assert.match(String(failed.err), /^amqps:\/\/bob:\*\*\*@127\.0\.0\.1:1\/q\?.*no outcome within sendTimeout/);
  for (const id of ['to-amqps', 'from-mqtts', 'to-mosquitto-tls', 'bad-password', 'nowhere']) {
    if (!local.routes.has(id)) continue;
    const d = local.routes.describe(id);
    assertNoSecrets(`describe(${id})`, JSON.stringify(d));
  }
  assert.ok(log.lines.length > 10);
  assertNoSecrets('the log', JSON.stringify(log.lines));
});
