import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { routeJsonSchema } from '../../../src/routing/route-schema.ts';

const root = path.resolve(import.meta.dirname, '../../..');

test('the route JSON Schema accepts the sample and example routes and rejects bad ones', async () => {
  const ajv = new Ajv2020({ strict: false });
  const check = ajv.compile(routeJsonSchema());
  for (const f of ['routes/examples-router.route.json', 'examples/sensor-routing/routes/sensor-alerts.route.json', 'examples/order-aggregation/routes/order-totals.route.json']) {
    const ok = check(JSON.parse(await readFile(path.join(root, f), 'utf8')));
    assert.ok(ok, `${f}: ${ajv.errorsText(check.errors)}`);
  }
  assert.equal(check({ id: 'x', from: 'queue:a', steps: [{ to: 'queue:b' }, { choice: { when: [{ if: true, steps: [{ teleport: 1 }] }] } }] }), false);
  assert.equal(check({ id: 'x', from: 'queue:a', steps: [{ throttle: { rate: 0 } }] }), false);
  assert.equal(check({ id: 'x', from: 'queue:a', steps: [], maxInflght: 3 }), false);
});

test('docs/route.schema.json is up to date (junction route schema > docs/route.schema.json)', async () => {
  const stored = JSON.parse(await readFile(path.join(root, 'docs/route.schema.json'), 'utf8'));
  assert.deepEqual(stored, routeJsonSchema());
});
