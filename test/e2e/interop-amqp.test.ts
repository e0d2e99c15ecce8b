import assert from 'node:assert/strict';
import { test } from 'node:test';
import { interopAvailable, interopDir, runInterop } from '../helpers/interop.ts';

// The shared real-client suite's AMQP case (qpid-proton and stomp.py) against `node bin/junction.js
// start`: see ../shared/interop/README.md.
test('shared interop AMQP case passes against bin/junction.js', { skip: interopAvailable ? false : `no ${interopDir}`, timeout: 240_000 }, async () => {
  const r = await runInterop(['stomp', 'amqp'], 'cross_stomp_to_amqp');
  assert.ok(r.passed >= 0, `no summary line in interop output:\n${r.output}`);
  assert.equal(r.failed, 0, `interop failures:\n${r.output}`);
  assert.ok(r.passed >= 1, `expected the AMQP case to run:\n${r.output}`);
  assert.equal(r.code, 0, r.output);
});
