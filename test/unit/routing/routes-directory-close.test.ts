import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import type { RouteDefinition } from '../../../src/routing/definition.ts';
import { RoutesDirectory } from '../../../src/routing/routes-directory.ts';
import type { Log } from '../../../src/core/ports/log.ts';
import { startBroker } from '../../helpers/broker.ts';

const quiet: Log = { debug() {}, info() {}, warn() {}, error() {} } as unknown as Log;

test('closing the routes directory does not wait for a route file still loading (a first type check takes seconds)', async (t) => {
  const broker = await startBroker({ store: { type: 'memory' } });
  t.after(() => broker.stop());
  const dir = await mkdtemp(path.join(tmpdir(), 'junction-routes-close-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const loads: string[] = [];
  let deployed = 0;
  // A load that never finishes: what a type check that outlives the broker's close looks like to it.
  const routes = new RoutesDirectory(dir, broker.routes, quiet, (file) => {
    loads.push(file);
    return new Promise<RouteDefinition[]>(() => undefined);
  });
  const deploy = broker.routes.deploy.bind(broker.routes);
  broker.routes.deploy = (...args) => {
    deployed++;
    return deploy(...args);
  };
  await routes.start();
  await writeFile(path.join(dir, 'late.route.ts'), 'export default {};\n');
  for (let i = 0; i < 200 && loads.length === 0; i++) await delay(25);
  assert.equal(loads.length, 1, 'the new file was not picked up (hot deploy)');
  await routes.close(); // before: waited for the load for ever (at most the type check's 120 s in the broker)
  assert.equal(deployed, 0);
});
