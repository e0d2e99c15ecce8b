import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { startBroker } from '../helpers/broker.ts';

// Issue 14's acceptance: with authorization configured to refuse subscribing `test/nosubscribe`
// (examples/mqtt-paho-authorization: anonymous may do everything on `#` but consume
// `test.nosubscribe`), Eclipse Paho's interoperability suite (client_test.py, MQTT 3.1.1) passes all
// 10 tests. Without that rule, test/e2e/mqtt-conformance.test.ts expects 9.

const PYTHON = '/usr/bin/python3';
const CONFORMANCE = path.resolve(import.meta.dirname, '../../../shared/conformance');
const PAHO_RUN = path.join(CONFORMANCE, 'paho-run.py');
const EXAMPLE = path.resolve(import.meta.dirname, '../../examples/mqtt-paho-authorization');
const noPahoSuite = existsSync(PAHO_RUN) && existsSync(PYTHON) ? undefined : `no ${PAHO_RUN} (or no ${PYTHON})`;

test('Eclipse Paho client_test.py passes all 10 tests against the example configuration', { skip: noPahoSuite, timeout: 180_000 }, async () => {
  const example = JSON.parse(await readFile(path.join(EXAMPLE, 'junction.json'), 'utf8')) as { security: Record<string, unknown> };
  // The example names its users file from the repository root (where its README starts the broker).
  const broker = await startBroker({ store: { type: 'memory' }, security: { ...example.security, usersFile: path.join(EXAMPLE, 'users.json') } });
  const dir = await mkdtemp(path.join(tmpdir(), 'junction-paho-authz-'));
  try {
    const json = path.join(dir, 'summary.json');
    const r = await new Promise<{ stdout: string; stderr: string }>((resolve) => {
      execFile(PYTHON, [PAHO_RUN, '--suite', 'v311', '--host', '127.0.0.1', '--port', String(broker.ports.mqtt), '--json', json], { timeout: 170_000, cwd: CONFORMANCE }, (_err, stdout, stderr) => resolve({ stdout, stderr }));
    });
    const summary = JSON.parse(await readFile(json, 'utf8')) as { results: Record<string, string> };
    const failed = Object.entries(summary.results).filter(([, v]) => v !== 'pass').map(([k]) => k);
    assert.deepEqual(failed, [], `${r.stdout}\n${r.stderr}`);
    assert.equal(Object.keys(summary.results).length, 10, r.stdout);
  } finally {
    await rm(dir, { recursive: true, force: true });
    await broker.stop();
  }
});
