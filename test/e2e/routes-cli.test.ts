import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';

const root = path.resolve(import.meta.dirname, '../..');

function junction(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['bin/junction.js', ...args], { cwd: root, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

test('junction route test: the sample router passes its cases', { timeout: 60_000 }, async () => {
  const r = await junction(['route', 'test', 'routes/examples-router.route.json', '--cases', 'routes/examples-router.cases.json']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.deepEqual(r.stdout.match(/^(PASS|FAIL) .*/gm), [
    'PASS  a hot reading goes to alerts with unit and level',
    'PASS  a normal reading goes to readings',
    'PASS  a reading without a temperature is dropped',
  ]);
  assert.match(r.stdout, /3 passed, 0 failed/);
});

test('junction route test: the command of examples/sensor-routing/README.md, on a route from a wildcard topic, passes as written', { timeout: 60_000 }, async () => {
  // The command is read from the README, so the README and this test cannot drift apart.
  const readme = await readFile(path.join(root, 'examples/sensor-routing/README.md'), 'utf8');
  const commands = readme.split('\n').filter((l) => l.startsWith('junction route test '));
  assert.equal(commands.length, 1, 'one `junction route test` command in the README');
  const args = commands[0]!.split(/\s+/).slice(1);
  const r = await junction(args);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.deepEqual(r.stdout.match(/^(PASS|FAIL) .*/gm), [
    'PASS  a hot reading from sensor 2 goes to alerts, tagged with its sensor and unit',
    'PASS  a normal reading goes to readings (published to a name the runner picks)',
    'PASS  a reading without a temperature is dropped',
  ]);
  assert.match(r.stdout, /3 passed, 0 failed/);
});

test('junction route test: a wildcard `from` takes each case at its `address`, an input `to` over it, or a matching name the runner picks', { timeout: 60_000 }, async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'junction-route-cli-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const route = path.join(dir, 'w.route.json');
  await writeFile(route, JSON.stringify({ id: 'w', from: 'topic:plant.*.line.>', steps: [{ setHeader: { name: 'seen', value: { var: 'destination' } } }, { to: 'queue:w.out' }] }));
  const cases = path.join(dir, 'cases.json');
  await writeFile(cases, JSON.stringify([
    { name: 'case address', address: 'topic:plant.north.line.7', input: [{ body: 'a' }], expect: { 'queue:w.out': [{ body: 'a', headers: { seen: 'topic:plant.north.line.7' } }] } },
    { name: 'input to', address: 'topic:plant.north.line.7', input: [{ body: 'b', to: 'topic:plant.south.line.2.x' }], expect: { 'queue:w.out': [{ body: 'b', headers: { seen: 'topic:plant.south.line.2.x' } }] } },
    { name: 'picked', input: [{ body: 'c' }], expect: { 'queue:w.out': [{ body: 'c' }] } },
    { name: 'an address the route does not read', address: 'topic:plant.north.belt.7', input: [{ body: 'd' }], expect: { 'queue:w.out': [] } },
  ]));
  const r = await junction(['route', 'test', route, '--cases', cases]);
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.match(r.stdout, /^PASS {2}case address$/m);
  assert.match(r.stdout, /^PASS {2}input to$/m);
  assert.match(r.stdout, /^PASS {2}picked$/m);
  assert.match(r.stdout, /^FAIL {2}an address the route does not read\n {6}error: address: topic:plant\.north\.belt\.7 does not match the route's from topic:plant\.\*\.line\.>$/m);
});

test('junction route test: a failing case prints why and exits 1', { timeout: 60_000 }, async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'junction-route-cli-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const cases = path.join(dir, 'cases.json');
  await writeFile(cases, JSON.stringify([
    { name: 'wrong branch', input: [{ body: { celsius: 50 } }], expect: { 'queue:examples.readings': [{ body: { celsius: 50 } }] } },
    { name: 'right branch', input: [{ body: { celsius: 50 } }], expect: { 'queue:examples.alerts': [{ body: { celsius: 50 }, headers: { level: 'alert' } }] } },
  ]));
  const r = await junction(['route', 'test', 'routes/examples-router.route.json', '--cases', cases]);
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.match(r.stdout, /^FAIL {2}wrong branch\n {6}queue:examples\.readings: expected 1 message\(s\), got 0$/m);
  assert.match(r.stdout, /^PASS {2}right branch$/m);
  assert.match(r.stdout, /1 passed, 1 failed/);
});

test('junction route test: the TypeScript sample aggregates order totals', { timeout: 60_000 }, async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'junction-route-cli-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const cases = path.join(dir, 'cases.json');
  await writeFile(cases, JSON.stringify({ cases: [{
    name: 'two orders',
    input: [
      { body: { id: 'A', lines: [{ sku: 'x', qty: 2, price: 5 }, { sku: 'y', qty: 1, price: 3 }] } },
      { body: { id: 'B', lines: [{ sku: 'z', qty: 3, price: 1 }] } },
    ],
    expect: { 'queue:examples.orders.totals': [{ body: { order: 'A', lines: 2, total: 13 } }, { body: { order: 'B', lines: 1, total: 3 } }] },
  }] }));
  const r = await junction(['route', 'test', 'routes/examples-orders.route.ts', '--cases', cases]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
});

test('junction route validate: OK per valid file, the error with its path otherwise, exit 1', { timeout: 60_000 }, async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'junction-route-cli-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const bad = path.join(dir, 'bad.route.json');
  await writeFile(bad, JSON.stringify({ id: 'bad', from: 'queue:a', steps: [{ to: 'queue:b' }, { choice: { when: [{ if: { eval: 'x' }, steps: [] }] } }] }));
  const r = await junction(['route', 'validate', 'routes/examples-router.route.json', bad]);
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.match(r.stdout, /^OK {4}routes\/examples-router\.route\.json \(examples-router\)$/m);
  assert.match(r.stdout, new RegExp(`^ERROR ${bad.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: steps\\[1\\]\\.choice\\.when\\[0\\]\\.if: operator 'eval' is not allowed$`, 'm'));
});
