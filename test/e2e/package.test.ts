import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';

// Embedding outside the repository (issue 12, item 19): `npm pack` (which runs `prepare`, the
// dist/ build), `npm ci` of the tarball into an empty project, then a plain JavaScript app and a
// TypeScript app (type-checked by tsc against the shipped .d.ts) that import 'junction'.
//
// No network: npm runs with --offline. A plain `npm install <tarball> --offline` needs the registry's
// metadata for every dependency, which the npm cache does not keep; so the project gets a lockfile
// made from the repository's own (same versions, same integrity hashes), and `npm ci --offline`
// takes every tarball from the npm cache that installing this repository filled.
const root = path.resolve(import.meta.dirname, '../..');
let dir: string;
let app: string;

interface Run {
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[], cwd: string, timeout = 60_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { cwd, timeout, env: { ...process.env, npm_config_update_notifier: 'false', npm_config_audit: 'false', npm_config_fund: 'false' } }, (err, stdout, stderr) =>
      err ? reject(new Error(`${cmd} ${args.join(' ')} failed: ${err.message}\n${stdout}\n${stderr}`)) : resolve({ stdout, stderr }),
    );
  });
}

interface LockEntry {
  version?: string;
  dev?: boolean;
  devOptional?: boolean;
  dependencies?: Record<string, string>;
  [k: string]: unknown;
}

/** The app's package.json and lockfile: junction from the tarball, plus typescript and @types/node for the TS app. */
async function writeProject(tarball: string): Promise<void> {
  const lock = JSON.parse(await readFile(path.join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };
  const own = lock.packages['']!;
  const typesNode = lock.packages['node_modules/@types/node']!;
  const ts = lock.packages['node_modules/typescript']!;
  const spec = `file:${path.basename(tarball)}`;
  const dependencies = { junction: spec, typescript: ts.version!, '@types/node': typesNode.version! };
  const integrity = `sha512-${createHash('sha512').update(await readFile(tarball)).digest('base64')}`;
  const packages: Record<string, LockEntry> = {
    '': { name: 'app', dependencies },
    'node_modules/junction': { version: own.version, resolved: spec, integrity, license: own.license, dependencies: own.dependencies, bin: own.bin, engines: own.engines },
  };
  // Everything junction needs at run time, and what the TS app's compiler needs.
  const alsoFromDev = new Set(['node_modules/typescript', 'node_modules/@types/node', ...Object.keys(typesNode.dependencies ?? {}).map((d) => `node_modules/${d}`)]);
  for (const [where, entry] of Object.entries(lock.packages)) {
    if (where === '' || (entry.dev === true && !alsoFromDev.has(where))) continue;
    const { dev: _dev, devOptional: _devOptional, ...rest } = entry;
    packages[where] = rest;
  }
  await writeFile(path.join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module', dependencies }, null, 2));
  await writeFile(path.join(app, 'package-lock.json'), JSON.stringify({ name: 'app', lockfileVersion: 3, requires: true, packages }, null, 2));
}

// The app: a broker on port 0, a route from the package's builder (queue:in -> queue:out), and a
// STOMP client over a plain socket that sends to queue:in and receives from queue:out.
const APP_BODY = `
const dataDir = mkdtempSync(path.join(tmpdir(), 'junction-package-app-'));
const broker = await createBroker({ dataDir, routesDir: path.join(dataDir, 'routes'), logLevel: 'warn', ports: { stomp: 0, ws: 0, mqtt: 0, amqp: 0, http: 0 } });
await broker.routes.deploy(route('forward').from('queue:in').to('queue:out'));
const socket = net.connect(broker.ports.stomp ?? 0, '127.0.0.1');
socket.setEncoding('utf8');
const body = await new Promise((resolve, reject) => {
  const timer = setTimeout(() => reject(new Error('no MESSAGE within 10 s')), 10_000);
  const onFrame = (frame = '') => {
    const command = frame.slice(0, frame.indexOf('\\n'));
    if (command === 'CONNECTED') socket.write('SUBSCRIBE\\ndestination:/queue/out\\nid:0\\nreceipt:sub\\n\\n\\0');
    else if (command === 'RECEIPT') socket.write('SEND\\ndestination:/queue/in\\ncontent-type:text/plain\\n\\nhello from the package\\0');
    else if (command === 'MESSAGE') {
      clearTimeout(timer);
      resolve(frame.slice(frame.indexOf('\\n\\n') + 2));
    } else reject(new Error('unexpected frame: ' + frame));
  };
  let buf = '';
  socket.on('error', reject);
  socket.on('data', (d) => {
    buf += d;
    for (let end = buf.indexOf('\\0'); end >= 0; end = buf.indexOf('\\0')) {
      onFrame(buf.slice(0, end).replace(/^\\n+/, ''));
      buf = buf.slice(end + 1);
    }
  });
  socket.write('CONNECT\\naccept-version:1.2\\nhost:localhost\\n\\n\\0');
});
socket.destroy();
await broker.close();
rmSync(dataDir, { recursive: true, force: true });
console.log('received: ' + body);
`;

const JS_APP = `import { createBroker, route } from 'junction';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
${APP_BODY}`;

// The same app in TypeScript, with the package's types; the @ts-expect-error lines fail the
// compile if the types were missing (everything would be any) or wrong.
const TS_APP = `import { createBroker, route, type Broker, type RouteDefinitionInput } from 'junction';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
const typed: RouteDefinitionInput = route('typed').from('queue:a').to('queue:b').build();
// @ts-expect-error: a route id is a string
const badId: number = typed.id;
const check = (b: Broker): number | undefined => b.ports.stomp;
// @ts-expect-error: createBroker takes a config object, not a number
void (() => createBroker(42));
void badId;
void check;
${APP_BODY}`;

const ROUTE = `import { route } from 'junction';
const suffix: string = '!';
export default route('shout').from('queue:in').process((ex) => { ex.setBody(String(ex.body()).toUpperCase() + suffix); }).to('queue:out');
`;
const BAD_ROUTE = `import { route } from 'junction';

const greeting: string = 'hello';
const count: number = greeting;
export default route('bad').from('queue:in').setHeader('count', () => count).to('queue:out');
`;

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'junction-package-'));
  app = path.join(dir, 'app');
  await run('mkdir', [app], dir);
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('npm pack, npm ci of the tarball into an empty project, then a JavaScript and a TypeScript app import junction', { timeout: 180_000 }, async (t) => {
  // 1. Pack: `prepare` builds dist/ (JavaScript and .d.ts).
  const packed = await run('npm', ['pack', '--json', '--pack-destination', app], root, 120_000);
  const [info] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as Array<{ filename: string; files: Array<{ path: string }> }>;
  const shipped = info!.files.map((f) => f.path);
  for (const f of ['dist/src/index.js', 'dist/src/index.d.ts', 'dist/src/cli/main.js', 'dist/patterns/index.js', 'bin/junction.js', 'README.md', 'package.json']) {
    assert.ok(shipped.includes(f), `${f} is in the tarball`);
  }
  assert.ok(!shipped.some((f) => f.startsWith('src/') || f.startsWith('test/')), 'sources and tests stay out of the tarball');

  // 2. Install it into an empty project, without the network.
  await writeProject(path.join(app, info!.filename));
  await run('npm', ['ci', '--offline', '--no-audit', '--no-fund'], app, 120_000);
  // Installed, junction runs its compiled JavaScript: no TypeScript loader comes with it.
  assert.equal(existsSync(path.join(app, 'node_modules/tsx')), false, 'tsx is not installed');

  await t.test('plain JavaScript (node app.mjs, no TypeScript loader)', async () => {
    await writeFile(path.join(app, 'app.mjs'), JS_APP);
    const { stdout } = await run(process.execPath, ['app.mjs'], app);
    assert.match(stdout, /received: hello from the package/);
  });

  await t.test('TypeScript: tsc type-checks against the shipped .d.ts, then the output runs', async () => {
    await writeFile(path.join(app, 'app.ts'), TS_APP);
    await writeFile(
      path.join(app, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'nodenext', moduleResolution: 'nodenext', strict: true, outDir: 'out', types: ['node'] }, files: ['app.ts'] }),
    );
    await run(path.join(app, 'node_modules/.bin/tsc'), ['-p', '.'], app, 120_000);
    const { stdout } = await run(process.execPath, ['out/app.js'], app);
    assert.match(stdout, /received: hello from the package/);
  });

  await t.test('the installed junction command runs from dist/', async () => {
    const { stdout } = await run(path.join(app, 'node_modules/.bin/junction'), ['version'], app);
    assert.match(stdout, /^\d+\.\d+\.\d+/);
  });

  await t.test("the installed junction route validate loads a .route.ts that imports 'junction' and type-checks it against the shipped .d.ts", async () => {
    await run('mkdir', ['-p', 'routes'], app);
    await writeFile(path.join(app, 'routes/shout.route.ts'), ROUTE);
    await writeFile(path.join(app, 'routes/bad.route.ts'), BAD_ROUTE);
    const validate = path.join(app, 'node_modules/.bin/junction');
    const { stdout } = await run(validate, ['route', 'validate', 'routes/shout.route.ts'], app, 120_000);
    assert.match(stdout, /^OK +routes\/shout\.route\.ts \(shout\)/m);
    await assert.rejects(run(validate, ['route', 'validate', 'routes/bad.route.ts'], app, 120_000), /routes\/bad\.route\.ts:4:7: Type 'string' is not assignable to type 'number'/);
  });
});
