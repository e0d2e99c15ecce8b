import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';

// The shared real-client suite's MQTT and MQTT <-> STOMP cases (Paho, mosquitto clients, raw
// sockets) against `node bin/junction.js start`: see ../shared/interop/README.md. By hand:
//   PROTOCOLS="mqtt stomp" CASES=mqtt_,cross_mqtt ../shared/interop/run.sh ../shared/interop/targets/junction.sh
// Here the target is the same as targets/junction.sh but on ports of its own, so this file can run
// beside interop.test.ts (which takes junction.sh's fixed STOMP port).
const interop = path.resolve(import.meta.dirname, '../../../shared/interop');
const root = path.resolve(import.meta.dirname, '../..');
const available = existsSync(path.join(interop, 'run.sh'));
const STOMP_PORT = 42613;
const MQTT_PORT = 42883;

test('shared interop MQTT and cross-protocol MQTT cases pass against bin/junction.js', { skip: available ? false : `no ${interop}`, timeout: 240_000 }, async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'junction-interop-mqtt-'));
  const target = path.join(dir, 'junction-mqtt.sh');
  await writeFile(
    target,
    [
      `export JUNCTION_HOME=${JSON.stringify(root)}`,
      'export BROKER=junction',
      'unset AMQP_PORT WS_PORT OPENWIRE_PORT',
      `export STOMP_PORT=${STOMP_PORT} MQTT_PORT=${MQTT_PORT}`,
      `export BROKER_START="exec node \\"$JUNCTION_HOME/bin/junction.js\\" start --data-dir \\"\\$DATA_DIR\\" --host 127.0.0.1 --http-port 0 --ws-port 0 --amqp-port 0 --stomp-port ${STOMP_PORT} --mqtt-port ${MQTT_PORT}"`,
      '',
    ].join('\n'),
  );
  try {
    const { code, output } = await new Promise<{ code: number; output: string }>((resolve) => {
      execFile(
        'bash',
        [path.join(interop, 'run.sh'), target],
        { cwd: root, env: { ...process.env, CASES: 'mqtt_,cross_mqtt' }, timeout: 230_000 },
        (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, output: stdout + stderr }),
      );
    });
    const summary = /(\d+) passed, (\d+) failed, (\d+) skipped/.exec(output);
    assert.ok(summary, `no summary line in interop output:\n${output}`);
    assert.equal(summary[2], '0', `interop failures:\n${output}`);
    assert.ok(Number(summary[1]) >= 7, `expected the MQTT and cross-protocol MQTT cases to run:\n${output}`);
    assert.equal(code, 0, output);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
