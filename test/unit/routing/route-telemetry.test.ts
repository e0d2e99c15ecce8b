/**
 * Step counters, the graph model and validation issue paths (issue 15): a real core with the
 * memory store and the RouteManager, messages sent and consumed through the core.
 */
import assert from 'node:assert/strict';
import { asyncScheduler } from 'rxjs';
import { test } from 'node:test';
import { Core } from '../../../src/core/core.ts';
import type { Message } from '../../../src/core/message.ts';
import { policyOf, RouteCompiler } from '../../../src/routing/compile.ts';
import { validateDefinition } from '../../../src/routing/definition.ts';
import { createExchange } from '../../../src/routing/exchange.ts';
import { Expressions } from '../../../src/routing/expression.ts';
import { routeGraphModel } from '../../../src/routing/route-graph-model.ts';
import { RouteManager } from '../../../src/routing/route-manager.ts';
import { STEP_SECONDS_BUCKETS, type StepStats } from '../../../src/routing/route-telemetry.ts';
import { MemoryStore } from '../../../src/store/memory-store.ts';
import type { Exchange } from '../../../src/routing/types.ts';
import { retryUntil } from '../../helpers/retry.ts';

const retry = (check: () => void) => retryUntil(async () => check());

const quiet = { debug() {}, info() {}, warn() {}, error() {}, child: () => quiet } as never;

const nested = validateDefinition({
  id: 'nested',
  from: 'queue:in',
  errorHandler: { deadLetter: 'amqp://bob:secret@remote:5672/dlq' },
  steps: [
    { setHeader: { name: 'a', value: 1 } },
    {
      choice: {
        when: [{ if: { '>': [{ var: 'body.n' }, 1] }, steps: [{ filter: true }, { to: 'queue:big' }] }],
        otherwise: [{ multicast: ['queue:m1', [{ setHeader: { name: 'b', value: 2 } }, { to: 'queue:m2' }]] }],
      },
    },
    { split: { by: { var: 'body.items' }, steps: [{ to: 'queue:parts' }] } },
    { errorHandler: { maxRedeliveries: 2, steps: [{ to: 'queue:guarded' }, { log: 'x' }] } },
    { to: 'queue:out' },
  ],
});

test('graph model: node ids are the dotted JSON paths of nested choice, multicast, split and errorHandler steps', () => {
  const m = routeGraphModel(nested);
  assert.deepEqual(m.nodes.map((n) => n.id), [
    'from', 'steps.0', 'steps.1', 'steps.1.choice.when.0.steps.0', 'steps.1.choice.when.0.steps.1', 'steps.1.choice.otherwise.0',
    'steps.1.choice.otherwise.0.multicast.0', 'steps.1.choice.otherwise.0.multicast.1.0', 'steps.1.choice.otherwise.0.multicast.1.1',
    'steps.2', 'steps.2.split.steps.0', 'steps.3', 'steps.3.errorHandler.steps.0', 'steps.3.errorHandler.steps.1', 'steps.4', 'errorHandler.deadLetter',
  ]);
  assert.ok(m.nodes.every((n) => n.path === n.id));
  const edge = (from: string, to: string) => m.edges.find((e) => e.from === from && e.to === to);
  assert.equal(edge('steps.1', 'steps.1.choice.when.0.steps.0')?.label, 'when {">":[{"var":"body.n"},1]}');
  assert.equal(edge('steps.1', 'steps.1.choice.otherwise.0')?.label, 'otherwise');
  // Both branches of the choice continue to the split; a multicast continues from itself.
  assert.ok(edge('steps.1.choice.when.0.steps.1', 'steps.2'));
  assert.ok(edge('steps.1.choice.otherwise.0', 'steps.2'));
  assert.ok(!edge('steps.1', 'steps.2'), 'a choice with otherwise has no no-match path');
  assert.ok(edge('steps.2', 'steps.3') && edge('steps.3.errorHandler.steps.1', 'steps.4'));
  assert.equal(m.nodes.find((n) => n.id === 'steps.1')?.shape, 'decision');
  assert.equal(m.nodes.find((n) => n.id === 'steps.4')?.shape, 'endpoint');
  assert.equal(m.nodes.find((n) => n.id === 'errorHandler.deadLetter')?.label, 'amqp://bob:***@remote:5672/dlq');
});

test('graph model: every compiled step has a counter under its node id', () => {
  const expressions = new Expressions();
  try {
    const compiler = new RouteCompiler({
      routeId: nested.id,
      expressions,
      log: quiet,
      scheduler: asyncScheduler,
      producer: (uri) => ({ uri, send: async () => {} }),
      newExchange: (message, onSettled) => createExchange({ routeId: nested.id, message, onSettled }),
      repository: () => ({ has: () => false, add: async () => {}, remove: async () => {} }),
      errorHandling: (h) => ({ policy: policyOf(h), fail: () => {} }),
    });
    compiler.compile(nested);
    const stepNodes = routeGraphModel(nested).nodes.filter((n) => n.id.startsWith('steps.') && n.id !== 'steps.1.choice.otherwise.0.multicast.0').map((n) => n.id);
    assert.deepEqual([...compiler.probes.keys()].sort(), stepNodes.sort());
  } finally {
    expressions.dispose();
  }
});

async function setup(t: { after(fn: () => Promise<void> | void): void }) {
  const core = await Core.open({ store: new MemoryStore(), log: quiet, queues: ['in', 'in2', 'out', 'dlq'] });
  const routes = new RouteManager(core, quiet);
  t.after(async () => {
    await routes.close();
    await core.close();
  });
  const send = (queue: string, body: unknown) => core.send({ destination: { type: 'queue', name: queue }, body: Buffer.from(JSON.stringify(body)), bodyType: 'json', durable: true });
  const consume = async (queue: string) => {
    const got: Message[] = [];
    const c = await core.createConsumer({ destination: { type: 'queue', name: queue }, autoAck: true, sink: { deliver: (d) => got.push(d.message) } });
    c.grant(1000);
    return got;
  };
  return { core, routes, send, consume };
}

const byId = (steps: StepStats[], id: string): StepStats => steps.find((s) => s.id === id)!;

test('step counters: a filter that drops, a step that throws, an exchange in flight in an async step', async (t) => {
  const { routes, send, consume } = await setup(t);
  let open: () => void = () => {};
  const gate = new Promise<void>((r) => (open = r));
  await routes.deploy({
    id: 'counted',
    from: 'queue:in',
    errorHandler: { deadLetter: 'queue:dlq' },
    steps: [
      { filter: { '>': [{ var: 'body.n' }, 1] } },
      { process: (ex: Exchange) => { if ((ex.body() as { n: number }).n === 3) throw new Error('boom'); } },
      { process: async (ex: Exchange) => { if ((ex.body() as { n: number }).n === 2) await gate; } },
      { to: 'queue:out' },
    ],
  });
  const out = await consume('out');
  const dlq = await consume('dlq');
  for (const n of [1, 2, 3]) await send('in', { n });
  await retry(() => assert.equal(dlq.length, 1));
  let steps = routes.stepStats('counted');
  assert.deepEqual(steps.map((s) => s.id), ['from', 'steps.0', 'steps.1', 'steps.2', 'steps.3', 'errorHandler.deadLetter']);
  const f = byId(steps, 'steps.0');
  assert.deepEqual([f.entered, f.completed, f.failed, f.inFlight], [3, 3, 0, 0], 'the filter completed the one it dropped');
  const thrower = byId(steps, 'steps.1');
  assert.deepEqual([thrower.entered, thrower.completed, thrower.failed, thrower.inFlight], [2, 1, 1, 0]);
  const waiting = byId(steps, 'steps.2');
  assert.deepEqual([waiting.entered, waiting.completed, waiting.inFlight], [1, 0, 1], 'held by the async step');
  assert.equal(byId(steps, 'from').inFlight, 1);
  assert.equal(byId(steps, 'errorHandler.deadLetter').entered, 1);
  open();
  await retry(() => assert.equal(out.length, 1));
  await retry(() => assert.equal(byId(routes.stepStats('counted'), 'steps.3').completed, 1));
  steps = routes.stepStats('counted');
  const done = byId(steps, 'steps.2');
  assert.deepEqual([done.entered, done.completed, done.inFlight], [1, 1, 0]);
  const from = byId(steps, 'from');
  assert.deepEqual([from.entered, from.completed, from.failed, from.inFlight], [3, 3, 0, 0], 'the dead-lettered one completed (acked after the DLQ has it)');
  for (const s of steps.filter((x) => x.id.startsWith('steps.'))) {
    assert.equal(s.buckets.length, STEP_SECONDS_BUCKETS.length);
    assert.equal(s.count, s.completed + s.failed, `${s.id}: one observation per exchange finished`);
    assert.ok(s.buckets.every((b, i) => i === 0 || b >= s.buckets[i - 1]!), 'cumulative');
    assert.ok(s.buckets.at(-1)! <= s.count && s.sumSeconds >= 0);
  }
  // A restart starts the counters afresh.
  await routes.restart('counted');
  assert.equal(byId(routes.stepStats('counted'), 'steps.0').entered, 0);
  assert.equal(routes.list()[0]!.state, 'started');
});

test('step counters: a synchronous step that throws counts as failed, not completed', async (t) => {
  const { routes, send, consume } = await setup(t);
  await routes.deploy({ id: 'sync', from: 'queue:in2', errorHandler: { deadLetter: 'queue:dlq' }, steps: [{ setHeader: { name: 'x', value: 1 } }, { filter: () => { throw new Error('bad predicate'); } }, { to: 'queue:out' }] });
  const dlq = await consume('dlq');
  await send('in2', { n: 1 });
  await retry(() => assert.equal(dlq.length, 1));
  const steps = routes.stepStats('sync');
  assert.deepEqual([byId(steps, 'steps.0').entered, byId(steps, 'steps.0').completed], [1, 1]);
  const s = byId(steps, 'steps.1');
  assert.deepEqual([s.entered, s.completed, s.failed, s.inFlight], [1, 0, 1, 0]);
  assert.equal(byId(steps, 'steps.2').entered, 0);
});

test('validation issues name the dotted JSON path of the bad part', async (t) => {
  const { routes } = await setup(t);
  const issues = (steps: unknown[], extra: Record<string, unknown> = {}) => routes.validate({ id: 'v', from: 'queue:in', steps, ...extra });
  assert.deepEqual(issues([{ to: 'queue:a' }]), []);
  const unknownKind = issues([{ to: 'queue:a' }, { choice: { when: [{ if: true, steps: [{ bogus: 1 }] }] } }]);
  assert.equal(unknownKind[0]!.path, 'steps.1.choice.when.0.steps.0');
  assert.match(unknownKind[0]!.message, /unknown step 'bogus'/);
  assert.equal(issues([{ setHeader: { name: 'a' } }])[0]!.path, 'steps.0.setHeader.value');
  const expression = issues([{ filter: { nope: [1] } }]);
  assert.match(expression[0]!.path, /^steps\.0\.filter/);
  assert.match(expression[0]!.message, /operator 'nope' is not allowed/);
  assert.equal(issues([{ to: 'bogus:x' }])[0]!.path, 'steps.0.to');
  assert.equal(issues([], { from: '' })[0]!.path, 'from');
  assert.equal(issues([{ multicast: [[{ to: 'queue:a' }, { split: { by: 1, steps: [{ to: 'nope' }] } }]] }])[0]!.path, 'steps.0.multicast.0.1.split.steps.0.to');
});

test('validation issues of TypeScript source: type errors at source:line:col, definition errors at their path', async (t) => {
  const { routes } = await setup(t);
  const typeError = await routes.loadSource("import { route } from 'junction';\nconst n: number = 'text';\nexport default route('ts').from('queue:in').to('queue:out');\n").then(
    () => assert.fail('a type error loads'),
    (err: { issues: Array<{ path: string; message: string }> }) => err.issues,
  );
  assert.equal(typeError[0]!.path, 'source:2:7');
  assert.match(typeError[0]!.message, /not assignable to type 'number'/);
  const badStep = await routes.loadSource("import { route } from 'junction';\nexport default route('ts').from('queue:in').to('nope:x');\n").then(
    (def) => routes.validate(def),
    (err: { issues: unknown }) => err.issues,
  );
  assert.deepEqual(badStep, [{ path: 'steps.0.to', message: (badStep as Array<{ message: string }>)[0]!.message }]);
  const good = await routes.loadSource("import { route } from 'junction';\nexport default route('ts-ok').from('queue:in').setHeader('a', 1).to('queue:out');\n");
  assert.equal(good.id, 'ts-ok');
  assert.deepEqual(routes.validate(good), []);
});
