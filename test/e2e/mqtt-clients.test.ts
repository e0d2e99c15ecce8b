import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { MOSQ_PUB, MOSQ_SUB, noMosquitto, noPaho, PYTHON } from '../helpers/mqtt-tools.ts';
import { TestMqttClient } from '../helpers/mqtt-client.ts';

// Independently written MQTT clients against the broker over real sockets: Debian's
// mosquitto_pub / mosquitto_sub (TCP) and Eclipse Paho for Python (TCP and WebSocket).

const PAHO = path.resolve(import.meta.dirname, 'python/mqtt_paho.py');


let broker: TestBroker;

before(async () => {
  broker = await startBroker({ store: { type: 'memory' } });
});
after(() => broker.stop());

function run(cmd: string, args: string[], timeout = 20_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout }, (err, stdout, stderr) => (err ? reject(new Error(`${cmd} ${args.join(' ')}: ${err.message}\n${stderr}`)) : resolve(stdout)));
  });
}

/** Starts mosquitto_sub and resolves once the broker has its subscription (visible as a consumer). */
async function mosquittoSub(args: string[], filterCore: string): Promise<{ output: Promise<string> }> {
  const child = spawn(MOSQ_SUB, ['-h', '127.0.0.1', '-p', String(broker.ports.mqtt), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  const done = new Promise<string>((resolve, reject) => {
    const t = setTimeout(() => {
      child.kill();
      reject(new Error(`mosquitto_sub timed out; got: ${out}`));
    }, 15_000);
    child.on('exit', () => {
      clearTimeout(t);
      resolve(out);
    });
  });
  const deadline = Date.now() + 10_000;
  while (!broker.core.queueStats().some((q) => q.topic === filterCore && q.consumers > 0)) {
    if (Date.now() > deadline) throw new Error('mosquitto_sub did not subscribe');
    await new Promise((r) => setTimeout(r, 20));
  }
  // Wrapped: an async function returning a bare promise would wait for it.
  return { output: done };
}

describe('mosquitto clients', { skip: noMosquitto }, () => {
  test('mosquitto_pub QoS 0/1/2 -> mosquitto_sub', async () => {
    const { output: received } = await mosquittoSub(['-t', 'mosq/+/q', '-q', '2', '-C', '3', '-v'], 'mosq.*.q');
    for (const q of ['0', '1', '2']) await run(MOSQ_PUB, ['-h', '127.0.0.1', '-p', String(broker.ports.mqtt), '-t', `mosq/${q}/q`, '-q', q, '-m', `hello-${q}`]);
    assert.deepEqual((await received).trim().split('\n').sort(), ['mosq/0/q hello-0', 'mosq/1/q hello-1', 'mosq/2/q hello-2']);
  });

  test('mosquitto_pub -r retained -> a later mosquitto_sub gets it; -n -r clears it', async () => {
    const args = ['-h', '127.0.0.1', '-p', String(broker.ports.mqtt)];
    await run(MOSQ_PUB, [...args, '-t', 'mosq/retained', '-q', '1', '-r', '-m', 'kept']);
    const got = await run(MOSQ_SUB, [...args, '-t', 'mosq/retained', '-C', '1', '-W', '5', '-v']);
    assert.equal(got.trim(), 'mosq/retained kept');
    await run(MOSQ_PUB, [...args, '-t', 'mosq/retained', '-q', '1', '-r', '-n']);
    assert.equal(broker.core.retained('mosq.retained').length, 0);
  });

  test('mosquitto_sub with a persistent session (-c -i) receives QoS 1 messages sent while it was away', async () => {
    const args = ['-h', '127.0.0.1', '-p', String(broker.ports.mqtt)];
    // -E: subscribe, then exit; the session stays.
    await run(MOSQ_SUB, [...args, '-c', '-i', 'mosq-dev', '-q', '1', '-t', 'mosq/offline', '-E']);
    await run(MOSQ_PUB, [...args, '-t', 'mosq/offline', '-q', '1', '-m', 'while-away']);
    const got = await run(MOSQ_SUB, [...args, '-c', '-i', 'mosq-dev', '-q', '1', '-t', 'mosq/offline', '-C', '1', '-W', '5']);
    assert.equal(got.trim(), 'while-away');
  });

  test('mosquitto_pub -> MQTT.js and MQTT.js -> mosquitto_sub, bytes unchanged', async () => {
    const js = await TestMqttClient.connect(broker, { clientId: 'js-side' });
    await js.subscribe('mix/to-js', 1);
    await run(MOSQ_PUB, ['-h', '127.0.0.1', '-p', String(broker.ports.mqtt), '-t', 'mix/to-js', '-q', '1', '-m', 'caf\u00e9 \u2615']);
    assert.equal((await js.count(1))[0]!.payload.toString(), 'caf\u00e9 \u2615');
    const { output: received } = await mosquittoSub(['-t', 'mix/to-mosq', '-q', '1', '-C', '1'], 'mix.to-mosq');
    await js.publish('mix/to-mosq', 'from mqtt.js', { qos: 1 });
    assert.equal((await received).trim(), 'from mqtt.js');
    await js.end();
  });
});

describe('Eclipse Paho (Python)', { skip: noPaho }, () => {
  for (const transport of ['tcp', 'websockets'] as const) {
    test(`over ${transport}: QoS 0/1/2, retained, persistent session and will`, async () => {
      const port = transport === 'tcp' ? broker.ports.mqtt! : broker.ports.ws!;
      const prefix = `paho-${transport}`;
      const out = JSON.parse(await run(PYTHON, [PAHO, '127.0.0.1', String(port), transport, prefix], 60_000)) as Record<string, unknown>;
      const hex = (s: string) => Buffer.from(s).toString('hex');
      assert.deepEqual(out.granted, [2]);
      const rt = out.roundtrip as Array<{ topic: string; payload: string; qos: number; retain: boolean }>;
      assert.deepEqual(rt.map((m) => [m.topic, m.qos, m.retain]), [0, 1, 2].map((q) => [`${prefix}/rt/q${q}`, q, false]));
      assert.deepEqual(rt.map((m) => m.payload), [0, 1, 2].map((q) => Buffer.concat([Buffer.from([0, q, 0xff, 0xfe]), Buffer.from('paho')]).toString('hex')));
      assert.deepEqual(out.retained, { topic: `${prefix}/retained`, payload: hex('r2'), qos: 1, retain: true, dup: false });
      assert.equal((out.cleared_live as { payload: string }).payload, '');
      assert.deepEqual(out.after_clear, []);
      assert.equal(out.session_present, 1);
      assert.deepEqual((out.offline as Array<{ payload: string }>).map((m) => m.payload), [0, 1, 2].map((i) => hex(`offline-${i}`)));
      assert.deepEqual(out.will, { topic: `${prefix}/will`, payload: hex('paho-gone'), qos: 1, retain: false, dup: false });
    });
  }
});
