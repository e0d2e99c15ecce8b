import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { RouteBuilder } from '../../src/index.ts';
import { startBroker } from '../helpers/broker.ts';
import { bodies, connectFor, eventually } from '../helpers/stompjs.ts';

// A TypeScript route file outside the repository imports 'junction' as docs/routes.md shows
// (issue 12, item 15): it resolves to the running broker's own package, and type errors are
// refused at validate and at deploy with file:line, not found at run time.
const root = path.resolve(import.meta.dirname, '../..');

function junction(args: string[], cwd: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [path.join(root, 'bin/junction.js'), ...args], { cwd, timeout: 60_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, output: stdout + stderr }),
    );
  });
}

const GOOD = `import { route, RouteBuilder } from 'junction';
import * as patterns from 'junction/patterns';
import { shout } from './lib/shout.ts';

// Which RouteBuilder the route got: the test compares it with the broker's.
(globalThis as { junctionRouteBuilderSeen?: unknown }).junctionRouteBuilderSeen = RouteBuilder;
(globalThis as { junctionPatternsSeen?: number }).junctionPatternsSeen = Object.keys(patterns).length;

export default route('outside')
  .from('queue:outside.in')
  .process((ex) => {
    ex.setBody(shout(String(ex.body())));
  })
  .to('queue:outside.out');
`;

// Runs fine as JavaScript; a type error all the same (line 4, column 7).
const BAD = `import { route } from 'junction';

const greeting: string = 'hello';
const count: number = greeting;

export default route('bad-types').from('queue:bad.in').setHeader('count', () => count).to('queue:bad.out');
`;

test('a TypeScript route outside the repository imports junction (the broker\'s own modules), deploys and routes', { timeout: 120_000 }, async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'junction-routes-outside-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const routesDir = path.join(dir, 'routes');
  await mkdir(path.join(routesDir, 'lib'), { recursive: true });
  await writeFile(path.join(routesDir, 'lib/shout.ts'), `export function shout(s: string): string {\n  return s.toUpperCase() + '!';\n}\n`);
  await writeFile(path.join(routesDir, 'outside.route.ts'), GOOD);

  // In a process of its own (bin/junction.js, which has not loaded src/index.ts yet): 'junction'
  // and 'junction/patterns' load through the broker's TypeScript loader.
  const v = await junction(['route', 'validate', path.join(routesDir, 'outside.route.ts')], dir);
  assert.match(v.output, /^OK +.*outside\.route\.ts \(outside\)$/m, v.output);
  assert.equal(v.code, 0);

  const broker = await startBroker({ routesDir, store: { type: 'memory' } });
  t.after(() => broker.stop());
  assert.deepEqual(broker.routes.problems(), []);
  assert.ok(broker.routes.has('outside'));
  assert.equal((globalThis as { junctionRouteBuilderSeen?: unknown }).junctionRouteBuilderSeen, RouteBuilder, "the route's RouteBuilder is the broker's (one module instance)");
  assert.ok(((globalThis as { junctionPatternsSeen?: number }).junctionPatternsSeen ?? 0) > 10, 'junction/patterns resolves too');

  const c = await connectFor(t, broker);
  const out = await c.subscribe('/queue/outside.out');
  await c.send('/queue/outside.in', 'hello');
  assert.deepEqual(bodies(await out.take(1)), ['HELLO!']);

  // A changed local import is a change of the route: checked and loaded again.
  await writeFile(path.join(routesDir, 'lib/shout.ts'), `export function shout(s: string): string {\n  return s.toUpperCase() + '?';\n}\n`);
  await writeFile(path.join(routesDir, 'outside.route.ts'), `${GOOD}// v2\n`);
  await eventually(() => assert.equal(broker.routes.describe('outside').version, 2));
  await c.send('/queue/outside.in', 'again');
  assert.deepEqual(bodies(await out.take(1)), ['AGAIN?']);
});

test('a type error in a .route.ts is refused by junction route validate with file:line, and at deploy', { timeout: 120_000 }, async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'junction-routes-outside-bad-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const routesDir = path.join(dir, 'routes');
  await mkdir(routesDir);
  const file = path.join(routesDir, 'bad.route.ts');
  await writeFile(file, BAD);

  const v = await junction(['route', 'validate', file], dir);
  assert.equal(v.code, 1, v.output);
  assert.ok(v.output.includes(`${file}:4:7: `), `the error names the file and line:\n${v.output}`);
  assert.match(v.output, /bad\.route\.ts:4:7: Type 'string' is not assignable to type 'number'\. \(TS2322\)/);

  const broker = await startBroker({ routesDir, store: { type: 'memory' } });
  t.after(() => broker.stop());
  assert.equal(broker.routes.has('bad-types'), false);
  const [problem] = broker.routes.problems();
  assert.match(problem?.error ?? '', /bad\.route\.ts:4:7: Type 'string' is not assignable to type 'number'\. \(TS2322\)/);
});
