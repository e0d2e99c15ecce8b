import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

// The shared real-client suite's AMQP case (qpid-proton and stomp.py) against `node bin/junction.js
// start`, as a user would run it: see ../shared/interop/README.md.
const interop = path.resolve(import.meta.dirname, '../../../shared/interop');
const available = existsSync(path.join(interop, 'run.sh'));
const root = path.resolve(import.meta.dirname, '../..');
// targets/junction.sh with ports of its own, so this runs beside interop.test.ts (41613, that target's) and
// interop-mqtt.test.ts (42613).
const STOMP_PORT = '43613';
const AMQP_PORT = '46672';
const target = {
  BROKER: 'junction',
  STOMP_PORT,
  AMQP_PORT,
  MQTT_PORT: '',
  WS_PORT: '',
  OPENWIRE_PORT: '',
  BROKER_START: `exec node "${root}/bin/junction.js" start --data-dir "$DATA_DIR" --host 127.0.0.1 --http-port 0 --mqtt-port 0 --ws-port 0 --stomp-port ${STOMP_PORT} --amqp-port ${AMQP_PORT}`,
};

test('shared interop AMQP case passes against bin/junction.js', { skip: available ? false : `no ${interop}`, timeout: 240_000 }, async () => {
  const { code, output } = await new Promise<{ code: number; output: string }>((resolve) => {
    execFile(
      'bash',
      [path.join(interop, 'run.sh')],
      { cwd: root, env: { ...process.env, ...target, CASES: 'cross_stomp_to_amqp' }, timeout: 230_000 },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, output: stdout + stderr }),
    );
  });
  const summary = /(\d+) passed, (\d+) failed, (\d+) skipped/.exec(output);
  assert.ok(summary, `no summary line in interop output:\n${output}`);
  assert.equal(summary[2], '0', `interop failures:\n${output}`);
  assert.ok(Number(summary[1]) >= 1, `expected the AMQP case to run:\n${output}`);
  assert.equal(code, 0, output);
});
