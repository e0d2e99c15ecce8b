import assert from 'node:assert/strict';
import { test } from 'node:test';
import { map } from 'rxjs';
import { choice } from '../../../patterns/choice.ts';
import { bodies, context, ex, pred, run } from './fixture.ts';

const tag = (t: string) => map((e: import('../../../src/routing/types.ts').Exchange) => { e.properties.branch = t; return e; });

test('choice takes the first matching when, else otherwise, and all continue after it', async () => {
  const ctx = context();
  const step = choice(
    [
      { predicate: pred({ '>': [{ var: 'body.t' }, 30] }), step: tag('hot') },
      { predicate: pred({ '>': [{ var: 'body.t' }, 20] }), step: tag('warm') },
    ],
    tag('cold'),
    ctx,
  );
  const out = await run(step, [ex({ t: 35 }), ex({ t: 25 }), ex({ t: 5 }), ex({ t: 50 })]);
  const seen = out.map((e) => [(e.body() as { t: number }).t, e.properties.branch]).sort((a, b) => Number(a[0]) - Number(b[0]));
  assert.deepEqual(seen, [[5, 'cold'], [25, 'warm'], [35, 'hot'], [50, 'hot']]);
});

test('choice without otherwise lets an unmatched exchange continue unchanged', async () => {
  const ctx = context();
  const out = await run(choice([{ predicate: pred({ '==': [{ var: 'body' }, 'a'] }), step: tag('a') }], undefined, ctx), [ex('a'), ex('b')]);
  assert.deepEqual(bodies(out).sort(), ['a', 'b']);
  assert.equal(out.find((e) => e.body() === 'b')!.properties.branch, undefined);
});
