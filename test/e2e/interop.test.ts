import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

// The shared real-client suite (stomp.py and raw sockets) against `node bin/junction.js start`,
// as a user would run it: see ../shared/interop/README.md.
const interop = path.resolve(import.meta.dirname, '../../../shared/interop');
const available = existsSync(path.join(interop, 'run.sh'));

test('shared interop STOMP and durability cases pass against bin/junction.js', { skip: available ? false : `no ${interop}`, timeout: 240_000 }, async () => {
  const { code, output } = await new Promise<{ code: number; output: string }>((resolve) => {
    execFile(
      'bash',
      [path.join(interop, 'run.sh'), path.join(interop, 'targets/junction.sh')],
      { cwd: path.resolve(import.meta.dirname, '../..'), env: { ...process.env, PROTOCOLS: 'stomp', CASES: 'stomp_,durability_', JUNCTION_MQTT_PORT: '0', JUNCTION_AMQP_PORT: '0', JUNCTION_WS_PORT: '0' }, timeout: 230_000 },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, output: stdout + stderr }),
    );
  });
  const summary = /(\d+) passed, (\d+) failed, (\d+) skipped/.exec(output);
  assert.ok(summary, `no summary line in interop output:\n${output}`);
  assert.equal(summary[2], '0', `interop failures:\n${output}`);
  assert.ok(Number(summary[1]) >= 5, `expected the STOMP and durability cases to run:\n${output}`);
  assert.equal(code, 0, output);
});
