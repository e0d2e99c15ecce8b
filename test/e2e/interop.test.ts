import assert from 'node:assert/strict';
import { test } from 'node:test';
import { interopAvailable, interopDir, runInterop } from '../helpers/interop.ts';

// The shared real-client suite's STOMP and durability cases (stomp.py and raw sockets) against
// `node bin/junction.js start`: see ../shared/interop/README.md. By hand, on junction.sh's ports:
//   PROTOCOLS=stomp CASES=stomp_,durability_ ../shared/interop/run.sh ../shared/interop/targets/junction.sh
test('shared interop STOMP and durability cases pass against bin/junction.js', { skip: interopAvailable ? false : `no ${interopDir}`, timeout: 240_000 }, async () => {
  const r = await runInterop(['stomp'], 'stomp_,durability_');
  assert.ok(r.passed >= 0, `no summary line in interop output:\n${r.output}`);
  assert.equal(r.failed, 0, `interop failures:\n${r.output}`);
  assert.ok(r.passed >= 5, `expected the STOMP and durability cases to run:\n${r.output}`);
  assert.equal(r.code, 0, r.output);
});
