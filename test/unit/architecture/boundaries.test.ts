import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

/**
 * The module boundaries of .dependency-cruiser.cjs (what `npm run lint` checks): the real config is
 * run against a throw-away tree with one forbidden import per rule, each of which must be reported,
 * and against the real tree, which must pass.
 */

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const CONFIG = path.join(ROOT, '.dependency-cruiser.cjs');
const DEPCRUISE = path.join(ROOT, 'node_modules/dependency-cruiser/bin/dependency-cruise.mjs');
const run = promisify(execFile);

interface Violation {
  from: string;
  to: string;
  rule: { name: string };
}

interface Cruise {
  modules: Array<{ source: string; dependencies: Array<{ resolved: string }> }>;
  summary: { violations: Violation[] };
}

/** Runs the checker with the real config in `cwd` (exit status ignored: violations make it non-zero). */
async function cruise(cwd: string): Promise<Cruise> {
  const args = [DEPCRUISE, 'src', 'patterns', '--config', CONFIG, '--output-type', 'json'];
  const out = await run(process.execPath, args, { cwd, maxBuffer: 64 * 1024 * 1024 }).catch((err: { stdout?: string }) => {
    if (typeof err.stdout === 'string' && err.stdout.startsWith('{')) return { stdout: err.stdout };
    throw err;
  });
  return JSON.parse(out.stdout) as Cruise;
}

/** Each file of the throw-away tree and what it imports. */
const TREE: Record<string, string[]> = {
  // forbidden
  'src/core/leaky.ts': ['../protocols/stomp/frames.ts'],
  'src/core/third-party.ts': ['rxjs'],
  'src/protocols/mqtt/borrow.ts': ['../stomp/frames.ts'],
  'src/protocols/stomp/persist.ts': ['../../store/disk.ts'],
  'src/protocols/amqp/wrong-library.ts': ['aedes'],
  'src/routing/reach-in.ts': ['../core/queue.ts'],
  'src/routing/pattern-internals.ts': ['../../patterns/internals.ts'],
  'src/routing/sockets.ts': ['ws'],
  'src/store/logs.ts': ['pino'],
  'src/store/disk.ts': ['../routing/loop.ts'],
  'src/routing/loop.ts': ['../store/disk.ts'],
  'patterns/reach-core.ts': ['../src/core/core.ts'],
  'src/config/boot.ts': ['../broker.ts'],
  'src/routing/persist.ts': ['../store/memory.ts'],
  // allowed
  'src/broker.ts': [],
  'src/core/core.ts': ['./queue.ts', './ports/store.ts', '../errors.ts', 'node:events'],
  'src/core/queue.ts': [],
  'src/core/ports/store.ts': ['../message.ts'],
  'src/core/message.ts': [],
  'src/errors.ts': [],
  'src/protocols/stomp/frames.ts': ['../../core/core.ts', '../../core/message.ts', '../../errors.ts'],
  'src/store/memory.ts': ['../core/ports/store.ts', '../routing/ports/records.ts', 'lowdb'],
  'src/routing/ports/records.ts': [],
  'src/routing/types.ts': [],
  'src/routing/compile-steps.ts': ['../../patterns/index.ts', '../core/core.ts'],
  'patterns/index.ts': ['./internals.ts'],
  'patterns/internals.ts': ['../src/routing/types.ts', 'rxjs'],
  'src/transport/listener.ts': ['ws'],
  'src/log.ts': ['pino'],
  'src/cli/main.ts': ['../broker.ts'],
};

/**
 * Other ways of importing, each forbidden (the core reaching a protocol): a type-only import, a
 * re-export, a dynamic import(), a require() and an import() type all count as imports.
 */
const FORMS: Record<string, string> = {
  'src/core/type-only.ts': "import type * as m from '../protocols/stomp/frames.ts';\nexport type T = typeof m;\n",
  'src/core/re-export.ts': "export * from '../protocols/stomp/frames.ts';\n",
  'src/core/dynamic.ts': "export const load = () => import('../protocols/stomp/frames.ts');\n",
  'src/core/required.ts': "declare const require: (id: string) => unknown;\nexport const m = require('../protocols/stomp/frames.ts');\n",
  'src/core/import-type.ts': "export type T = typeof import('../protocols/stomp/frames.ts');\n",
};

/** [importing file, imported file, rule that must report it]. */
const EXPECTED: Array<[string, string, string]> = [
  ['src/core/leaky.ts', 'src/protocols/stomp/frames.ts', 'core-imports-only-core'],
  ['src/core/third-party.ts', 'node_modules/rxjs/', 'core-imports-only-core'],
  ['src/protocols/mqtt/borrow.ts', 'src/protocols/stomp/frames.ts', 'protocols-are-independent'],
  ['src/protocols/stomp/persist.ts', 'src/store/disk.ts', 'protocols-stay-adapters'],
  ['src/protocols/amqp/wrong-library.ts', 'node_modules/aedes/', 'aedes-confined'],
  ['src/routing/reach-in.ts', 'src/core/queue.ts', 'core-internals-are-private'],
  ['src/routing/pattern-internals.ts', 'patterns/internals.ts', 'routing-uses-the-pattern-registry'],
  ['src/routing/sockets.ts', 'node_modules/ws/', 'ws-confined'],
  ['src/store/logs.ts', 'node_modules/pino/', 'pino-confined'],
  ['src/store/disk.ts', 'src/routing/loop.ts', 'store-implements-core-ports'],
  ['src/routing/loop.ts', 'src/store/disk.ts', 'no-cycle-across-folders'],
  ['patterns/reach-core.ts', 'src/core/core.ts', 'patterns-import-the-envelope-only'],
  ['src/config/boot.ts', 'src/broker.ts', 'composition-root-on-top'],
  ['src/routing/persist.ts', 'src/store/memory.ts', 'routing-stays-above-adapters'],
  ...Object.keys(FORMS).map((file): [string, string, string] => [file, 'src/protocols/stomp/frames.ts', 'core-imports-only-core']),
];

describe('module boundaries (npm run lint)', () => {
  let dir = '';
  let violations: Violation[] = [];

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'junction-boundaries-'));
    await symlink(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
    const tsconfig = JSON.parse(await readFile(path.join(ROOT, 'tsconfig.json'), 'utf8')) as { compilerOptions: object };
    await writeFile(path.join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: tsconfig.compilerOptions, include: ['src', 'patterns'] }));
    for (const [file, imports] of Object.entries(TREE)) {
      await mkdir(path.dirname(path.join(dir, file)), { recursive: true });
      const body = imports.map((spec, i) => `import * as m${i} from '${spec}';\nexport const x${i} = m${i};\n`).join('');
      await writeFile(path.join(dir, file), body || 'export {};\n');
    }
    for (const [file, body] of Object.entries(FORMS)) await writeFile(path.join(dir, file), body);
    violations = (await cruise(dir)).summary.violations;
  });

  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  for (const [from, to, rule] of EXPECTED) {
    test(`${rule}: ${from} -> ${to} is reported`, () => {
      const hit = violations.some((v) => v.rule.name === rule && v.from === from && (v.to === to || (to.endsWith('/') && v.to.includes(to))));
      assert.ok(hit, `expected ${rule} for ${from} -> ${to}; got:\n${violations.map((v) => `${v.rule.name}: ${v.from} -> ${v.to}`).join('\n')}`);
    });
  }

  test('allowed imports are not reported', () => {
    const forbiddenFrom = new Set(EXPECTED.map(([from]) => from).concat('src/routing/loop.ts'));
    const stray = violations.filter((v) => !forbiddenFrom.has(v.from));
    assert.deepEqual(stray, []);
  });

  test('the real tree passes, and every known violation listed in the config still exists', async () => {
    const real = await cruise(ROOT);
    assert.deepEqual(real.summary.violations, []);
    const known = (createRequire(import.meta.url)(CONFIG) as { knownViolations: Array<{ from: string; to: string[] }> }).knownViolations;
    const imports = new Set(real.modules.flatMap((m) => m.dependencies.map((d) => `${m.source} -> ${d.resolved}`)));
    const stale = known.flatMap((k) => k.to.map((to) => `${k.from} -> ${to}`)).filter((edge) => !imports.has(edge));
    assert.deepEqual(stale, [], 'these imports are gone: remove them from KNOWN_VIOLATIONS in .dependency-cruiser.cjs');
  });
});
