import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { issuesByNode, jsonPathLines, lineOfIssue, modelFromDefinition, nodeForIssue, normalizePath } from '../../../src/console/ui/route-model.ts';

// The console's route editor helpers (pure, browser-independent): the preview graph of a JSON
// definition, where a validation issue lands (graph node and editor line).

const DEF = {
  id: 'r1',
  from: 'queue:in',
  steps: [
    { filter: { '!=': [{ var: 'body.x' }, null] } },
    {
      choice: {
        when: [{ if: { '>': [{ var: 'body.x' }, 3] }, steps: [{ setHeader: { name: 'big', value: true } }, { to: 'queue:big' }] }],
        otherwise: [{ to: 'amqp://bob:secret@host/small' }],
      },
    },
    { to: 'queue:out' },
  ],
};
const TEXT = JSON.stringify(DEF, null, 2);

describe('route editor model', () => {
  test('paths are normalized from bracket, pointer and $ forms', () => {
    assert.equal(normalizePath('steps[2].to'), 'steps.2.to');
    assert.equal(normalizePath('/steps/2/to'), 'steps.2.to');
    assert.equal(normalizePath('$.steps.1.choice.when[0].steps[1]'), 'steps.1.choice.when.0.steps.1');
    assert.equal(normalizePath(''), '');
  });

  test('the preview graph has the source, every step (nested ones too) with the broker paths, and the flow', () => {
    const m = modelFromDefinition(DEF);
    assert.deepEqual(
      m.nodes.map((n) => [n.path, n.kind, n.shape]),
      [
        ['from', 'from', 'source'],
        ['steps.0', 'filter', 'step'],
        ['steps.1', 'choice', 'decision'],
        ['steps.1.choice.when.0.steps.0', 'setHeader', 'step'],
        ['steps.1.choice.when.0.steps.1', 'to', 'endpoint'],
        ['steps.1.choice.otherwise.0', 'to', 'endpoint'],
        ['steps.2', 'to', 'endpoint'],
      ],
    );
    const edges = m.edges.map((e) => `${e.from}>${e.to}${e.label ? `(${e.label})` : ''}`);
    assert.deepEqual(edges, [
      'from>steps.0',
      'steps.0>steps.1',
      'steps.1>steps.1.choice.when.0.steps.0(when 1)',
      'steps.1.choice.when.0.steps.0>steps.1.choice.when.0.steps.1',
      'steps.1>steps.1.choice.otherwise.0(otherwise)',
      // Both branches join the step after the choice (there is an otherwise: no direct edge).
      'steps.1.choice.when.0.steps.1>steps.2',
      'steps.1.choice.otherwise.0>steps.2',
    ]);
    assert.equal(m.nodes.find((n) => n.path === 'steps.1.choice.otherwise.0')!.label, 'amqp://bob:***@host/small', 'no password in a label');
  });

  test('an issue lands on the deepest node its path starts with; others stay unplaced', () => {
    const { nodes } = modelFromDefinition(DEF);
    assert.equal(nodeForIssue('steps.2.to', nodes)?.path, 'steps.2');
    assert.equal(nodeForIssue('steps[1].choice.when[0].steps[1].to', nodes)?.path, 'steps.1.choice.when.0.steps.1');
    assert.equal(nodeForIssue('steps.1.choice.when.0.if', nodes)?.path, 'steps.1');
    assert.equal(nodeForIssue('from', nodes)?.path, 'from');
    assert.equal(nodeForIssue('steps.10', nodes), undefined, 'steps.1 is not a prefix of steps.10');
    assert.equal(nodeForIssue('id', nodes), undefined);
    const grouped = issuesByNode([{ path: 'steps.2.to', message: 'bad uri' }, { path: 'id', message: 'missing' }], nodes);
    assert.deepEqual(grouped.get('steps.2'), [{ path: 'steps.2.to', message: 'bad uri' }]);
    assert.deepEqual(grouped.get(undefined), [{ path: 'id', message: 'missing' }]);
  });

  test('an issue path maps to the editor line it starts on, or its nearest ancestor', () => {
    const lines = jsonPathLines(TEXT);
    const lineOf = (needle: string, from = 0): number => TEXT.slice(0, TEXT.indexOf(needle, from)).split('\n').length;
    assert.equal(lineOfIssue('from', lines), lineOf('"from"'));
    assert.equal(lineOfIssue('steps.2.to', lines), lineOf('"to": "queue:out"'));
    assert.equal(lineOfIssue('steps.2.nope', lines), lines.get('steps.2'));
    assert.equal(lineOfIssue('steps.1.choice.otherwise.0.to', lines), lineOf('"to": "amqp://'));
    assert.equal(lineOfIssue('', lines), 1);
  });

  test('a JSON syntax error keeps the lines before it and names its own line', () => {
    const bad = '{\n  "id": "x",\n  "from": "queue:a",\n  "steps": [ { "to": } ]\n}';
    const lines = jsonPathLines(bad);
    assert.equal(lines.get('from'), 3);
    assert.equal(lines.errorLine, 4);
    assert.equal(jsonPathLines('{"a": 1}').errorLine, undefined);
    assert.equal(jsonPathLines('{"a": 1}\n\n x').errorLine, 3, 'trailing text');
    assert.equal(jsonPathLines('{"a":\n tru}').errorLine, 2, 'a bad literal');
  });
});
