import assert from 'node:assert/strict';
import { test } from 'node:test';
import { validateDefinition } from '../../../src/routing/definition.ts';
import { routeGraph } from '../../../src/routing/route-graph.ts';

test('a route as a Mermaid flowchart: source, steps, choice branches joined, dead-letter channel', () => {
  const g = routeGraph(validateDefinition({
    id: 'g',
    from: 'queue:in',
    errorHandler: { deadLetter: 'queue:in.DLQ', maxRedeliveries: 2 },
    steps: [
      { split: { by: { var: 'body.lines' } } },
      { choice: { when: [{ if: { '>': [{ var: 'body.n' }, 1] }, steps: [{ to: 'queue:big' }] }], otherwise: [{ to: 'queue:small' }] } },
      { multicast: ['queue:a', [{ to: 'queue:b' }]] },
    ],
  }));
  const lines = g.split('\n');
  assert.equal(lines[0], 'flowchart LR');
  assert.ok(lines.includes('  n0[("queue:in")]'));
  for (const q of ['queue:big', 'queue:small', 'queue:a', 'queue:b', 'queue:in.DLQ']) assert.ok(g.includes(`[("${q}")]`), q);
  assert.match(g, /n\d+\{"choice"\}/);
  assert.match(g, /-\.->\|"failed after 2 redeliveries"\| dlq/);
  // Both branches lead to the node after the choice.
  const join = /(n\d+)\["end choice"\]/.exec(g)![1];
  assert.equal(lines.filter((l) => l.endsWith(`--> ${join}`)).length, 2);
});
