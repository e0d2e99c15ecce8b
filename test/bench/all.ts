/**
 * `npm run bench [-- NAME...]`: every benchmark, one process each and one after another, so they do
 * not compete for the two cores. Each prints its own table with ratios against the references it
 * measures in the same run (ActiveMQ Classic, bare aedes, Mosquitto, a bare core forwarder, ...).
 *
 * Names: stomp, mqtt, amqp, routes, selector (default: all of them). `npm run bench:journal` (1M messages)
 * stays apart: it takes minutes.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';

const BENCHES: Record<string, string> = {
  stomp: 'run.ts',
  mqtt: 'mqtt-bench.ts',
  amqp: 'amqp-bench.ts',
  routes: 'routes-bench.ts',
  selector: 'selector-bench.ts',
};

const asked = process.argv.slice(2);
for (const name of asked) {
  if (!(name in BENCHES)) {
    console.error(`unknown benchmark '${name}'; one of: ${Object.keys(BENCHES).join(', ')}`);
    process.exit(2);
  }
}

let failed = 0;
for (const name of asked.length > 0 ? asked : Object.keys(BENCHES)) {
  console.log(`\n=== bench: ${name} ===`);
  const file = path.join(import.meta.dirname, BENCHES[name]!);
  const r = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', file], { stdio: 'inherit' });
  if (r.status !== 0) {
    failed++;
    console.log(`bench ${name} exited with ${r.status ?? r.signal}`);
  }
}
process.exit(failed > 0 ? 1 : 0);
