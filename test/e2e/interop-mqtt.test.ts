import assert from 'node:assert/strict';
import { test } from 'node:test';
import { interopAvailable, interopDir, runInterop } from '../helpers/interop.ts';

// The shared real-client suite's MQTT and MQTT <-> STOMP cases (Paho, mosquitto clients, raw
// sockets) against `node bin/junction.js start`: see ../shared/interop/README.md. By hand:
//   PROTOCOLS="mqtt stomp" CASES=mqtt_,cross_mqtt ../shared/interop/run.sh ../shared/interop/targets/junction.sh
test('shared interop MQTT and cross-protocol MQTT cases pass against bin/junction.js', { skip: interopAvailable ? false : `no ${interopDir}`, timeout: 240_000 }, async () => {
  const r = await runInterop(['stomp', 'mqtt'], 'mqtt_,cross_mqtt');
  assert.ok(r.passed >= 0, `no summary line in interop output:\n${r.output}`);
  assert.equal(r.failed, 0, `interop failures:\n${r.output}`);
  assert.ok(r.passed >= 7, `expected the MQTT and cross-protocol MQTT cases to run:\n${r.output}`);
  assert.equal(r.code, 0, r.output);
});
