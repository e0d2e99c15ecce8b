/**
 * Hostile inputs to the routes area of the management API over real HTTP (issue 15): what a caller
 * with `view` or `manage` sends must be answered in the API's shape, and the broker keeps serving.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { MAX_DEFINITION_DEPTH } from '../../src/routing/definition.ts';
import { api } from '../helpers/management-http.ts';
import { startBroker, type TestBroker } from '../helpers/broker.ts';

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
