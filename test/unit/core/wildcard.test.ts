import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compareSpecificity, isWildcard, wildcardMatches, WildcardIndex } from '../../../src/core/wildcard.ts';

describe('wildcardMatches', () => {
  const cases: Array<[pattern: string, name: string, matches: boolean]> = [
    ['a.b', 'a.b', true],
    ['a.b', 'a.c', false],
    ['a.b', 'a.b.c', false],
    ['a.b.c', 'a.b', false],
    ['a.*', 'a.b', true],
    ['a.*', 'a', false],
    ['a.*', 'a.b.c', false],
    ['*.b', 'x.b', true],
    ['a.*.c', 'a.x.c', true],
    ['a.*.c', 'a.x.d', false],
    ['a.>', 'a.b', true],
    ['a.>', 'a.b.c.d', true],
    ['a.>', 'a', true],
    ['a.>', 'b.a', false],
    ['>', 'anything.at.all', true],
    ['a.#', 'a.b.c', true],
    ['a.#', 'a', true],
    ['a.*.>', 'a.b', true],
    ['a.*.>', 'a', false],
  ];
  for (const [pattern, name, matches] of cases) {
    test(`${pattern} ${matches ? 'matches' : 'does not match'} ${name}`, () => {
      assert.equal(wildcardMatches(pattern, name), matches);
    });
  }
});

describe('isWildcard', () => {
  test('names with a *, > or # segment are wildcards', () => {
    assert.deepEqual(['a.*', 'a.>', 'a.#', '>', 'a.b', 'a*b.c', 'a.b>'].map(isWildcard), [true, true, true, true, false, false, false]);
  });
});

describe('compareSpecificity', () => {
  const sign = (a: string, b: string) => Math.sign(compareSpecificity(a, b));

  test('a literal segment is more specific than *', () => {
    assert.equal(sign('a.b', 'a.*'), 1);
    assert.equal(sign('a.*', 'a.b'), -1);
  });

  test('* is more specific than >', () => {
    assert.equal(sign('a.*', 'a.>'), 1);
  });

  test('a longer literal prefix wins', () => {
    assert.equal(sign('a.b.>', 'a.*.c'), 1);
    assert.equal(sign('a.b.>', 'a.>'), 1);
  });

  test('a pattern that ends is more specific than one going on with > (both match the shorter name)', () => {
    assert.equal(sign('a', 'a.>'), 1);
    assert.equal(sign('a.*', 'a.*.>'), 1);
    assert.equal(sign('a.>', 'a'), -1);
  });

  test('> and # rank the same, and equal patterns compare equal', () => {
    assert.equal(sign('a.>', 'a.#'), 0);
    assert.equal(sign('a.b', 'a.b'), 0);
  });

  test('sorting puts the least specific first', () => {
    const sorted = ['orders.eu', '>', 'orders.*', 'orders.>'].sort(compareSpecificity);
    assert.deepEqual(sorted, ['>', 'orders.>', 'orders.*', 'orders.eu']);
  });
});

describe('WildcardIndex', () => {
  function match(index: WildcardIndex<string>, name: string): string[] {
    return [...index.match(name)].sort();
  }

  test('a literal pattern matches only its own name', () => {
    const index = new WildcardIndex<string>();
    index.add('a.b', 'x');
    assert.deepEqual(match(index, 'a.b'), ['x']);
    assert.deepEqual(match(index, 'a.c'), []);
    assert.deepEqual(match(index, 'a.b.c'), []);
    assert.deepEqual(match(index, 'a'), []);
  });

  test('* matches one segment', () => {
    const index = new WildcardIndex<string>();
    index.add('a.*.c', 'x');
    assert.deepEqual(match(index, 'a.b.c'), ['x']);
    assert.deepEqual(match(index, 'a.c'), []);
    assert.deepEqual(match(index, 'a.b.b.c'), []);
  });

  test('> matches one or more segments, and zero', () => {
    const index = new WildcardIndex<string>();
    index.add('a.>', 'x');
    assert.deepEqual(match(index, 'a.b'), ['x']);
    assert.deepEqual(match(index, 'a.b.c'), ['x']);
    assert.deepEqual(match(index, 'a'), ['x']);
    assert.deepEqual(match(index, 'b'), []);
  });

  test('# is indexed as >', () => {
    const index = new WildcardIndex<string>();
    index.add('a.#', 'x');
    assert.deepEqual(match(index, 'a.b.c'), ['x']);
    index.remove('a.>', 'x');
    assert.deepEqual(match(index, 'a.b.c'), []);
  });

  test('a name matched by several patterns returns every value once', () => {
    const index = new WildcardIndex<string>();
    index.add('a.b', 'literal');
    index.add('a.*', 'star');
    index.add('a.>', 'rest');
    index.add('>', 'all');
    index.add('a.*', 'star2');
    index.add('b.*', 'other');
    assert.deepEqual(match(index, 'a.b'), ['all', 'literal', 'rest', 'star', 'star2']);
  });

  test('remove takes out only that value of that pattern', () => {
    const index = new WildcardIndex<string>();
    index.add('a.*', 'x');
    index.add('a.*', 'y');
    index.add('a.b', 'x');
    index.remove('a.*', 'x');
    assert.deepEqual(match(index, 'a.b'), ['x', 'y']);
    index.remove('a.b', 'x');
    assert.deepEqual(match(index, 'a.b'), ['y']);
  });

  test('removing a pattern that was never added changes nothing', () => {
    const index = new WildcardIndex<string>();
    index.add('a.b', 'x');
    index.remove('a.c', 'x');
    index.remove('a.b.c', 'x');
    index.remove('a.b', 'y');
    assert.deepEqual(match(index, 'a.b'), ['x']);
  });

  test('removing the last value prunes the empty branch, keeping shared prefixes', () => {
    const index = new WildcardIndex<string>();
    index.add('a.b.c.d', 'deep');
    index.add('a.x', 'sibling');
    index.remove('a.b.c.d', 'deep');
    // The trie is private; pruning is only observable from inside.
    const root = (index as unknown as { root: TrieNode }).root;
    const a = root.children.get('a')!;
    assert.deepEqual([...a.children.keys()], ['x']);
    index.remove('a.x', 'sibling');
    assert.equal(root.children.size, 0);
  });

  test('agrees with wildcardMatches on every pattern and name', () => {
    const patterns = ['a', 'a.b', 'a.*', 'a.>', '*', '*.b', '>', 'a.*.c', 'a.b.>', '*.*', 'a.*.>'];
    const names = ['a', 'b', 'a.b', 'a.c', 'b.b', 'a.b.c', 'a.x.c', 'a.b.c.d'];
    const index = new WildcardIndex<string>();
    for (const p of patterns) index.add(p, p);
    for (const name of names) {
      assert.deepEqual(match(index, name), patterns.filter((p) => wildcardMatches(p, name)).sort(), `name ${name}`);
    }
  });
});

interface TrieNode {
  children: Map<string, TrieNode>;
  values: Set<unknown>;
}
