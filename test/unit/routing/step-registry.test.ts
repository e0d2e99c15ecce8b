import assert from 'node:assert/strict';
import { test } from 'node:test';
import { asyncScheduler, map } from 'rxjs';
import { z } from 'zod';
import { stepRegistry, StepRegistry, type StepDescriptor } from '../../../patterns/index.ts';
import { route } from '../../../src/routing/builder.ts';
import { RouteCompiler } from '../../../src/routing/compile.ts';
import { RouteDefinitionError, validateDefinition, type RouteDefinitionInput } from '../../../src/routing/definition.ts';
import { Expressions } from '../../../src/routing/expression.ts';
import { routeGraph } from '../../../src/routing/route-graph.ts';
import { routeJsonSchema } from '../../../src/routing/route-schema.ts';
import type { Exchange, Expression, StepDef } from '../../../src/routing/types.ts';
import { bodies, context, ex, run } from '../patterns/fixture.ts';

// A new step kind is what a new file in patterns/ holds: its definition type, merged into
// StepDefs (so the builder's step(kind, def) is typed), and its descriptor.
declare module '../../../src/routing/types.ts' {
  interface StepDefs {
    shout: { suffix?: Expression; steps?: StepDef[] };
  }
}

/** Upper-cases the body, appends `suffix` (an expression), then runs its own steps. */
const shoutStep: StepDescriptor<'shout'> = {
  kind: 'shout',
  schema: z.strictObject({ suffix: z.unknown().optional(), steps: z.array(z.unknown()).optional() }),
  nested: ['steps'],
  compile: (def, c) => {
    const suffix = def.suffix === undefined ? () => '' : c.expression(def.suffix, `${c.path}.suffix`);
    const upper = map((e: Exchange) => {
      e.setBody(`${String(e.body()).toUpperCase()}${String(suffix(e))}`);
      return e;
    });
    const inner = def.steps ? c.steps(def.steps, `${c.path}.steps`) : undefined;
    return inner ? (source) => inner(upper(source)) : upper;
  },
};

function registry(): StepRegistry {
  return new StepRegistry().register(...stepRegistry.all(), shoutStep);
}

/** Validates and compiles `input` with `reg`, runs `inputs` through it; returns the bodies out and those sent. */
async function runRoute(input: RouteDefinitionInput | Record<string, unknown>, reg: StepRegistry, inputs: unknown[]) {
  const ctx = context();
  const expressions = new Expressions();
  try {
    const compiler = new RouteCompiler({
      routeId: 'r',
      expressions,
      log: ctx.log,
      scheduler: asyncScheduler,
      producer: (uri) => ctx.producer(uri),
      newExchange: ctx.newExchange,
      repository: () => ({ has: () => false, add: async () => {}, remove: async () => {} }),
      errorHandling: () => ctx.errors,
      registry: reg,
    });
    const step = compiler.compile(validateDefinition(input, reg));
    const out = bodies(await run(step, inputs.map((b) => ex(b))));
    return { out, sent: Object.fromEntries([...ctx.producers].map(([uri, p]) => [uri, p.sent])) };
  } finally {
    expressions.dispose();
  }
}

test('a step kind registered in a fresh registry compiles and runs from a JSON definition', async () => {
  const json = {
    id: 'r',
    from: 'queue:in',
    steps: [{ shout: { suffix: { cat: ['!', { var: 'body' }] }, steps: [{ to: 'queue:loud' }] } }, { to: 'queue:out' }],
  };
  const r = await runRoute(json, registry(), ['hi', 'yo']);
  assert.deepEqual(r.out, ['HI!hi', 'YO!yo']);
  assert.deepEqual(r.sent, { 'queue:loud': ['HI!hi', 'YO!yo'], 'queue:out': ['HI!hi', 'YO!yo'] });
});

test('a step kind registered in a fresh registry compiles and runs from the builder (step(kind, def))', async () => {
  const def = route('r').from('queue:in').step('shout', { suffix: '?' }).setHeader('h', 1).to('queue:out').build();
  const r = await runRoute(def, registry(), ['a']);
  assert.deepEqual(r.out, ['A?']);
  assert.deepEqual(r.sent, { 'queue:out': ['A?'] });
});

test("the new kind's nested steps and parameters are validated with their paths; other registries do not know it", () => {
  const reg = registry();
  const bad = (steps: unknown[], r: StepRegistry = reg) => {
    try {
      validateDefinition({ id: 'r', from: 'queue:in', steps }, r);
    } catch (err) {
      assert.ok(err instanceof RouteDefinitionError);
      return err.message;
    }
    assert.fail('expected a RouteDefinitionError');
  };
  assert.match(bad([{ shout: { steps: [{ teleport: 1 }] } }]), /^steps\[0\]\.shout\.steps\[0\]: unknown step 'teleport'; steps: to, filter, .*, operator, shout$/);
  assert.match(bad([{ shout: { loud: true } }]), /^steps\[0\]\.shout: /);
  assert.match(bad([{ shout: {} }], stepRegistry), /^steps\[0\]: unknown step 'shout'/);
});

test("the route JSON Schema of a registry has the new kind, its step lists pointing at the steps' schema", () => {
  const schema = routeJsonSchema(registry()) as { $defs: { step: { oneOf: Array<{ properties: Record<string, { properties?: Record<string, unknown> }> }> } } };
  const shout = schema.$defs.step.oneOf.find((s) => 'shout' in s.properties);
  assert.deepEqual(shout?.properties.shout?.properties?.steps, { $ref: '#/$defs/steps' });
  assert.equal((routeJsonSchema() as typeof schema).$defs.step.oneOf.some((s) => 'shout' in s.properties), false);
});

test('a registry refuses a kind registered twice', () => {
  assert.throws(() => new StepRegistry().register(shoutStep, shoutStep), /step kind 'shout' is already registered/);
  assert.throws(() => registry().register(stepRegistry.get('to')!), /step kind 'to' is already registered/);
});

test("a route graph draws the new kind's nested steps as a branch from its node", () => {
  const reg = registry();
  const def = validateDefinition({ id: 'r', from: 'queue:in', steps: [{ shout: { steps: [{ to: 'queue:loud' }] } }, { to: 'queue:out' }] }, reg);
  assert.equal(routeGraph(def, reg), ['flowchart LR', '  n0[("queue:in")]', '  n1["shout {\'steps\':[{\'to\':\'queue:loud\'}]}"]', '  n0 --> n1', '  n2[("queue:loud")]', '  n1 --> n2', '  n3[("queue:out")]', '  n1 --> n3'].join('\n'));
});
