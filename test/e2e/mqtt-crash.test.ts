import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { BrokerProcess } from '../helpers/broker-process.ts';
import { TestMqttClient } from '../helpers/mqtt-client.ts';

/*
 * kill -9 with MQTT: a broker in a child process (journal, sync always) takes QoS 1 publishes from
 * MQTT.js into a persistent session that is offline, plus a retained message, and is killed with
 * SIGKILL in the middle of the traffic. After a restart on the same data dir, every PUBACKed message
 * is in the session (none lost), the session is resumed, and the retained message is still there.
 */

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const WINDOW = 16;
const MAX = 3000;

test('every QoS 1 message PUBACKed before a SIGKILL is delivered after the restart; the session and a retained message survive', { timeout: 90_000 }, async () => {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'junction-mqtt-crash-'));
  dirs.push(dataDir);
  const broker = await BrokerProcess.start({ dataDir });
  const ports = { ports: { mqtt: broker.ports.mqtt } };

  const dev = await TestMqttClient.connect(ports, { clientId: 'crash-dev', clean: false });
  await dev.subscribe('crash/#', 1);
  await dev.end();

  const pub = await TestMqttClient.connect(ports, { clientId: 'crash-pub' });
  pub.client.on('error', () => {});
  await pub.publish('crash/status', 'retained-before-crash', { qos: 1, retain: true });
  const acked = new Set<string>();
  let sent = 0;
  let stop = false;
  const inflight = new Set<Promise<unknown>>();
  const producing = (async () => {
    while (!stop && sent < MAX) {
      const body = `m-${sent++}`;
      const p = pub.publish(`crash/data/${sent % 4}`, body, { qos: 1 }).then(
        () => acked.add(body),
        () => {
          stop = true;
        },
      );
      inflight.add(p);
      void p.finally(() => inflight.delete(p));
      if (inflight.size >= WINDOW) await Promise.race(inflight);
    }
  })();
  // Kill once a good share of the traffic is acknowledged, while more is in flight.
  const deadline = Date.now() + 30_000;
  while (acked.size < 300 && Date.now() < deadline) await delay(5);
  const status = await broker.kill();
  assert.equal(status.signal, 'SIGKILL');
  stop = true;
  await pub.drop().catch(() => {});
  await Promise.race([producing, delay(5000)]);
  const confirmed = new Set(acked);
  assert.ok(confirmed.size >= 300, `only ${confirmed.size} PUBACKs before the kill`);

  const again = await broker.restart();
  try {
    const ports2 = { ports: { mqtt: again.ports.mqtt } };
    const back = await TestMqttClient.connect(ports2, { clientId: 'crash-dev', clean: false });
    const seen = new Set<string>();
    const end = Date.now() + 30_000;
    while ([...confirmed].some((b) => !seen.has(b))) {
      if (Date.now() > end) break;
      await back.count(back.received.length + 1, 5000).catch(() => {});
      for (const m of back.received) seen.add(m.payload.toString());
    }
    const lost = [...confirmed].filter((b) => !seen.has(b));
    assert.deepEqual(lost.slice(0, 10), [], `${lost.length} PUBACKed messages lost of ${confirmed.size}`);
    // Per-topic order is kept for what came back.
    const byTopic = new Map<string, number[]>();
    for (const m of back.received) {
      const i = Number(m.payload.toString().slice(2));
      const list = byTopic.get(m.topic) ?? [];
      list.push(i);
      byTopic.set(m.topic, list);
    }
    for (const [topic, list] of byTopic) {
      const unique = [...new Set(list)];
      assert.deepEqual(unique, [...unique].sort((a, b) => a - b), `order on ${topic}`);
    }
    await back.end();

    const late = await TestMqttClient.connect(ports2, { clientId: 'crash-late' });
    await late.subscribe('crash/status', 1);
    const [r] = await late.count(1);
    assert.equal(r!.payload.toString(), 'retained-before-crash');
    assert.equal(r!.retain, true);
    await late.end();
  } finally {
    await again.stop();
  }
});
