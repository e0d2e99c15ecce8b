import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { route } from '../../../src/routing/builder.ts';
import { RouteDefinitionError, validateDefinition } from '../../../src/routing/definition.ts';
import { parseEndpoint } from '../../../src/routing/endpoints/endpoint-uri.ts';
import { loadRouteFile } from '../../../src/routing/route-file.ts';

const issueExample = {
  id: 'sensor-alerts',
  from: 'topic:sensors.*.temp',
  maxInflight: 200,
  errorHandler: { deadLetter: 'queue:sensor-alerts.DLQ', maxRedeliveries: 3, redeliveryDelay: 100, backoffMultiplier: 2 },
  steps: [
    { filter: { '!=': [{ var: 'body.celsius' }, null] } },
    { setProperty: { name: 'unit', value: 'C' } },
    { choice: { when: [{ if: { '>': [{ var: 'body.celsius' }, 30] }, steps: [{ to: 'queue:alerts' }] }], otherwise: [{ to: 'queue:readings' }] } },
  ],
};

test('the issue example validates, with defaults filled in', () => {
  const def = validateDefinition(issueExample);
  assert.equal(def.maxInflight, 200);
  assert.equal(def.drainTimeout, 10_000);
  assert.equal(def.steps.length, 3);
});

function errorOf(raw: unknown): RouteDefinitionError {
  try {
    validateDefinition(raw);
  } catch (err) {
    assert.ok(err instanceof RouteDefinitionError, String(err));
    return err;
  }
  assert.fail('expected a validation error');
}

test('validation errors name the JSON path of the bad step', () => {
  const nested = structuredClone(issueExample) as any;
  nested.steps[2].choice.when[0].steps[0] = { to: 'queue:a', extra: 1 };
  assert.equal(errorOf(nested).path, 'steps[2].choice.when[0].steps[0]');
  const unknown = { ...issueExample, steps: [{ filter: true }, { frobnicate: 1 }] };
  assert.match(errorOf(unknown).message, /^steps\[1\]: unknown step 'frobnicate'/);
  const badParam = { ...issueExample, steps: [{ throttle: { rate: 0 } }] };
  assert.equal(errorOf(badParam).path, 'steps[0].throttle.rate');
  assert.equal(errorOf({ ...issueExample, maxInflight: 'lots' }).path, 'maxInflight');
  assert.equal(errorOf({ ...issueExample, id: 'a b' }).path, 'id');
  const tryBad = { ...issueExample, steps: [{ doTry: { steps: [{ to: 'queue:a' }], catch: [{ steps: [{ nope: 1 }] }] } }] };
  assert.equal(errorOf(tryBad).path, 'steps[0].doTry.catch[0].steps[0]');
});

test('an aggregate larger than maxInflight without a timeout is refused (it could never complete)', () => {
  const e = errorOf({ id: 'a', from: 'queue:x', maxInflight: 10, steps: [{ aggregate: { correlation: 1, completionSize: 50 } }] });
  assert.equal(e.path, 'steps[0].aggregate.completionSize');
});

test('an aggregate needs a completion condition, and a numeric completionSize of at least 1 (as in Camel)', () => {
  const agg = (a: object) => ({ id: 'a', from: 'queue:x', steps: [{ split: { by: { var: 'body' }, steps: [{ aggregate: { correlation: 1, ...a } }] } }] });
  const none = errorOf(agg({}));
  assert.equal(none.path, 'steps[0].split.steps[0].aggregate');
  assert.match(none.message, /completionSize, completionTimeout or completionPredicate/);
  assert.equal(errorOf(agg({ completionSize: 0 })).path, 'steps[0].split.steps[0].aggregate.completionSize');
  assert.equal(errorOf(agg({ completionSize: 2.5 })).path, 'steps[0].split.steps[0].aggregate.completionSize');
  assert.equal(errorOf(agg({ completionSize: 'ten' })).path, 'steps[0].split.steps[0].aggregate.completionSize');
  validateDefinition(agg({ completionSize: { var: 'properties.splitSize' } }));
  validateDefinition(agg({ completionTimeout: 100 }));
  validateDefinition(agg({ completionPredicate: { '==': [1, 1] } }));
});

test('the builder produces the same model as JSON', () => {
  const built = route('sensor-alerts')
    .from('topic:sensors.*.temp')
    .maxInflight(200)
    .errorHandler({ deadLetter: 'queue:sensor-alerts.DLQ', maxRedeliveries: 3, redeliveryDelay: 100, backoffMultiplier: 2 })
    .filter({ '!=': [{ var: 'body.celsius' }, null] })
    .setProperty('unit', 'C')
    .choice((c) => c.when({ '>': [{ var: 'body.celsius' }, 30] }, (b) => b.to('queue:alerts')).otherwise((b) => b.to('queue:readings')));
  assert.deepEqual(validateDefinition(built.build()), validateDefinition(issueExample));
});

test('the Camel-style fluent choice produces the same model', () => {
  const fluent = route('sensor-alerts')
    .from('topic:sensors.*.temp')
    .maxInflight(200)
    .errorHandler({ deadLetter: 'queue:sensor-alerts.DLQ', maxRedeliveries: 3, redeliveryDelay: 100, backoffMultiplier: 2 })
    .filter({ '!=': [{ var: 'body.celsius' }, null] })
    .setProperty('unit', 'C')
    .choice()
      .when({ '>': [{ var: 'body.celsius' }, 30] }).to('queue:alerts')
      .otherwise().to('queue:readings')
    .end();
  assert.deepEqual(validateDefinition(fluent.build()), validateDefinition(issueExample));
  assert.throws(() => route('x').from('queue:a').choice().to('queue:b'), /when\(predicate\) before/);
});

test('endpoint URIs', () => {
  assert.deepEqual({ ...parseEndpoint('queue:orders'), options: undefined }, { scheme: 'queue', name: 'orders', uri: 'queue:orders', options: undefined });
  const m = parseEndpoint('mqtt://127.0.0.1:1884/sensors/+/temp');
  assert.equal(m.scheme, 'mqtt');
  assert.equal(m.scheme === 'mqtt' && m.topic, 'sensors/+/temp');
  const all = parseEndpoint('mqtt://h/sensors/#');
  assert.equal(all.scheme === 'mqtt' && all.topic, 'sensors/#');
  assert.equal(all.scheme === 'mqtt' && all.port, 1883);
  const a = parseEndpoint('amqp://h:5673/orders.in');
  assert.equal(a.scheme === 'amqp' && a.address, 'orders.in');
  const t = parseEndpoint('timer:tick?period=250');
  assert.equal(t.scheme === 'timer' && t.period, 250);
  assert.throws(() => parseEndpoint('ftp:x'), /unknown scheme/);
  assert.throws(() => parseEndpoint('timer:t?period=-1'), /period/);
});

test('route files: errors name the file and the path', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'junction-routes-'));
  try {
    const file = path.join(dir, 'bad.route.json');
    await writeFile(file, JSON.stringify({ id: 'x', from: 'queue:a', steps: [{ to: 'queue:b' }, { split: { by: 1, steps: [{ to: 3 }] } }] }));
    await assert.rejects(loadRouteFile(file), (err: Error) => err.message.startsWith(`${file}: steps[1].split.steps[0].to:`));
    await writeFile(file, '{ not json');
    await assert.rejects(loadRouteFile(file), (err: Error) => err.message.startsWith(`${file}: `));
    // Two routes of one file with the same id: the second would silently replace the first.
    await writeFile(file, JSON.stringify([{ id: 'same', from: 'queue:a', steps: [] }, { id: 'other', from: 'queue:b', steps: [] }, { id: 'same', from: 'queue:c', steps: [] }]));
    await assert.rejects(loadRouteFile(file), (err: Error) => err.message === `${file} [2]: id: route id 'same' is also the id of [0]`);
    const ts = path.join(dir, 'ok.route.ts');
    await writeFile(ts, `import { route } from ${JSON.stringify(path.resolve('src/routing/builder.ts'))};\nexport default route('t1').from('queue:a').process((ex) => ex.setBody('x')).to('queue:b');\n`);
    const [def] = await loadRouteFile(ts);
    assert.equal(def!.id, 't1');
    assert.equal(typeof (def!.steps[0] as { process: unknown }).process, 'function');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a bad dead-letter URI is refused at deploy with its path', async () => {
  const { startBroker } = await import('../../helpers/broker.ts');
  const broker = await startBroker({ store: { type: 'memory' } });
  try {
    await assert.rejects(broker.routes.deploy({ id: 'd', from: 'queue:a', errorHandler: { deadLetter: 'ftp:x' }, steps: [] }), /errorHandler\.deadLetter: Endpoint 'ftp:x': unknown scheme/);
    await assert.rejects(
      broker.routes.deploy({ id: 'd', from: 'queue:a', steps: [{ errorHandler: { deadLetter: 'nope', steps: [] } }] }),
      /steps\[0\]\.errorHandler\.deadLetter: Endpoint 'nope'/,
    );
  } finally {
    await broker.stop();
  }
});

test('enrich to an endpoint without request-reply is refused at deploy and by validate, with its path', async () => {
  const { Route } = await import('../../../src/routing/route.ts');
  const { Expressions } = await import('../../../src/routing/expression.ts');
  const quiet = { debug() {}, info() {}, warn() {}, error() {} };
  const def = (uri: string) => validateDefinition({ id: 'e', from: 'queue:a', steps: [{ setBody: 1 }, { enrich: { uri } }] });
  const expressions = new Expressions();
  try {
    for (const uri of ['log:x', 'mqtt://localhost:1883/prices', 'amqp://localhost:5672/prices']) {
      assert.throws(() => Route.check(def(uri), { expressions, log: quiet }), /^RouteDefinitionError: steps\[1\]\.enrich\.uri: .*request-reply/, uri);
    }
    Route.check(def('queue:prices'), { expressions, log: quiet });
  } finally {
    expressions.dispose();
  }
});

test('a bad source URI is reported with its path (from)', async () => {
  const { Route } = await import('../../../src/routing/route.ts');
  const { Expressions } = await import('../../../src/routing/expression.ts');
  const expressions = new Expressions();
  try {
    for (const from of ['ftp:x', 'log:x']) {
      assert.throws(() => Route.check(validateDefinition({ id: 'f', from, steps: [] }), { expressions, log: { debug() {}, info() {}, warn() {}, error() {} } }), (err: Error) => err instanceof RouteDefinitionError && err.path === 'from' && err.message.startsWith(`from: Endpoint '${from}'`));
    }
  } finally {
    expressions.dispose();
  }
});

test('an mqtt:// source has one message in flight: an aggregate of more without a timeout is refused', () => {
  const e = errorOf({ id: 'a', from: 'mqtt://localhost:1883/sensors/+/temp', steps: [{ aggregate: { correlation: 1, completionSize: 2 } }] });
  assert.equal(e.path, 'steps[0].aggregate.completionSize');
  assert.match(e.message, /mqtt:\/\/ source/);
  validateDefinition({ id: 'a', from: 'mqtt://localhost:1883/sensors/+/temp', steps: [{ aggregate: { correlation: 1, completionSize: 2, completionTimeout: 1000 } }] });
  // The parts of one split message take no credit: aggregating them is fine.
  validateDefinition({ id: 'a', from: 'mqtt://localhost:1883/orders', steps: [{ split: { by: { var: 'body' } } }, { aggregate: { correlation: 1, completionSize: 3 } }] });
  validateDefinition({ id: 'a', from: 'mqtt://localhost:1883/orders', steps: [{ split: { by: { var: 'body' }, steps: [{ aggregate: { correlation: 1, completionSize: 3 } }] } }] });
});
