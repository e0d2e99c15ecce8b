/**
 * Hostile inputs to the routes area of the management API over real HTTP (issue 15): what a caller
 * with `view` or `manage` sends must be answered in the API's shape, and the broker keeps serving.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { MAX_DEFINITION_DEPTH, MAX_DEFINITION_STEPS } from '../../src/routing/definition.ts';
import { api } from '../helpers/management-http.ts';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { retryUntil } from '../helpers/retry.ts';

let broker: TestBroker;
let call: ReturnType<typeof api>;

before(async () => {
  broker = await startBroker({ store: { type: 'memory' } });
  call = api(`http://127.0.0.1:${broker.ports.http}/api/v1`);
});

after(async () => {
  await broker?.stop();
});

/** A JSON text of `levels` choices nested in each other (built as text: JSON.stringify itself recurses). */
function nestedChoices(id: string, levels: number): string {
  return `{"definition":{"id":"${id}","from":"queue:deep.in","steps":${'[{"choice":{"when":[{"if":true,"steps":'.repeat(levels)}[{"to":"queue:deep.out"}]${'}]}}]'.repeat(levels)}}}`;
}

test('a definition nested thousands of levels deep (35 KB) is a 400 with the path where it is too deep, not a stack overflow', async () => {
  const body = nestedChoices('deep', 800);
  for (const url of ['/routes/validate', '/routes']) {
    const res = await call('POST', url, { raw: body });
    const issues = (url === '/routes' ? res.json?.error?.issues : res.json?.issues) as Array<{ path: string; message: string }> | undefined;
    if (url === '/routes') assert.equal(res.status, 400, res.text.slice(0, 300));
    else assert.equal(res.json?.valid, false, res.text.slice(0, 300));
    assert.match(issues?.[0]?.message ?? '', new RegExp(`nested more than ${MAX_DEFINITION_DEPTH} levels`));
    assert.match(issues?.[0]?.path ?? '', /^steps\.0\.choice\.when\.0\.steps\.0\./, 'placed at the step where the nesting goes too deep');
  }
  // A deep expression (json-logic) likewise.
  const expr = `${'{"!":['.repeat(1500)}true${']}'.repeat(1500)}`;
  const res = await call('POST', '/routes/validate', { raw: `{"definition":{"id":"deepe","from":"queue:d","steps":[{"filter":${expr}}]}}` });
  assert.equal(res.json?.valid, false);
  assert.match(res.json.issues[0].message, /nested more than/);
  assert.equal(broker.routes.has('deep'), false);
  // Ten nested choices are fine, and the broker serves on.
  const ok = await call('POST', '/routes', { raw: nestedChoices('ten', 10) });
  assert.equal(ok.status, 201, ok.text);
  assert.equal((await call('GET', '/routes/ten/graph')).status, 200);
});

test('a definition of more steps than MAX_DEFINITION_STEPS (nested ones counted) is refused by a dry run and a deploy; as many is deployed', async () => {
  const header = { setHeader: { name: 'h', value: 1 } };
  const flat = { id: 'wide', from: 'queue:wide.in', steps: Array.from({ length: 10_000 }, () => header) };
  const dry = await call('POST', '/routes/validate', { body: { definition: flat } });
  assert.equal(dry.status, 200, dry.text.slice(0, 300));
  assert.equal(dry.json.valid, false);
  assert.deepEqual(dry.json.issues, [{ path: 'steps', message: `more than ${MAX_DEFINITION_STEPS} steps in the route (nested ones included)` }]);
  // Nested lists count too: half at the top, half in a choice's branch, one over.
  const half = Array.from({ length: MAX_DEFINITION_STEPS / 2 }, () => header);
  const nested = { id: 'nested', from: 'queue:wide.in', steps: [...half.slice(1), { choice: { when: [{ if: true, steps: [...half, header] }] } }] };
  const refused = await call('POST', '/routes', { body: { definition: nested } });
  assert.equal(refused.status, 400, refused.text.slice(0, 300));
  assert.equal(refused.json.error.issues[0].path, `steps.${MAX_DEFINITION_STEPS / 2 - 1}.choice.when.0.steps`);
  const atCap = { ...nested, steps: [...half.slice(1), { choice: { when: [{ if: true, steps: half }] } }] };
  const ok = await call('POST', '/routes', { body: { definition: atCap } });
  assert.equal(ok.status, 201, ok.text.slice(0, 300));
  await broker.core.send({ destination: { type: 'queue', name: 'wide.in' }, body: Buffer.from('{}') });
  await retryUntil(async () => assert.equal((await call('GET', '/routes/nested/stats')).json.stats.completed, 1));
});

test('a route test run in progress ends with the broker: its sandbox does not outlive close, the cases left are not run', async () => {
  const own = await startBroker({ store: { type: 'memory' } });
  try {
    const owned = api(`http://127.0.0.1:${own.ports.http}/api/v1`);
    assert.equal((await owned('POST', '/routes', { body: { definition: { id: 't', from: 'queue:t.in', steps: [{ to: 'queue:t.out' }] } } })).status, 201);
    // Each case waits for a message that never comes, at the longest timeout allowed (30 s each): 90 s of sandboxes.
    const cases = ['first', 'second', 'third'].map((name) => ({ name, input: [{ body: 'x' }], expect: { 'queue:never': [{ body: 'x' }] }, timeout: 1e9 }));
    const run = own.routes.test('t', cases);
    const busy = await owned('POST', '/routes/t/test', { body: { cases: cases.slice(0, 1) } });
    assert.equal(busy.status, 409, 'one run at a time');
    await own.stop();
    const results = await run;
    assert.deepEqual(results.map((r) => r.passed), [false, false, false]);
    assert.match(results[0]!.problems.join(), /queue:never: expected 1 message\(s\), got 0/);
    assert.deepEqual(results.slice(1).map((r) => r.problems), [['not run: the broker is closing'], ['not run: the broker is closing']]);
  } finally {
    await own.stop().catch(() => {});
  }
});
