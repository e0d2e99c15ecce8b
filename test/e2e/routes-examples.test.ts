import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';

/** Smoke tests of the routing examples: each runs as a user would run it, and its output is checked. */

const root = path.resolve(import.meta.dirname, '../..');

function run(example: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--import', 'tsx', `examples/${example}/main.ts`], { cwd: root, timeout: 50_000 }, (err, stdout, stderr) =>
      err ? reject(new Error(`${err.message}\n${stdout}${stderr}`)) : resolve(stdout),
    );
  });
}

test('examples/sensor-routing: MQTT sensors, content-based router, AMQP alerts and a readings queue', { timeout: 60_000 }, async () => {
  const out = await run('sensor-routing');
  assert.deepEqual(out.match(/^ALERT .*$/gm), ['ALERT topic:sensors.2.temp: 31.2 C', 'ALERT topic:sensors.2.temp: 35.8 C']);
  assert.match(out, /readings queue: 5 normal readings/);
  assert.match(out, /route sensor-alerts: completed 8, failed 0, dead-lettered 0/);
});

test('examples/order-aggregation: orders split into lines and re-aggregated', { timeout: 60_000 }, async () => {
  const out = await run('order-aggregation');
  assert.deepEqual(out.match(/^order .*$/gm)?.sort(), [
    'order A-100 (acme): 3 line(s), total 45.00',
    'order A-101 (globex): 1 line(s), total 25.00',
    'order A-102 (acme): 2 line(s), total 17.00',
  ]);
  assert.match(out, /lines tapped: 6; orders acknowledged: 3; left in queue orders: 0/);
});

test('examples/dead-letter-replay: redelivery, dead-letter channel and replay', { timeout: 60_000 }, async () => {
  const out = await run('dead-letter-replay');
  assert.match(out, /first pass: 6 charged, 2 dead-lettered, 6 redeliveries/);
  assert.match(out, /DLQ \{"id":3,"amount":2500\}: amount 2500 over the gateway limit 1000 \(step steps\[0\], 3 attempts\)/);
  assert.match(out, /after replay: 8 charged \(2 replayed\), 0 dead-lettered/);
});
