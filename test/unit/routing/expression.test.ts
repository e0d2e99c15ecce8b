import assert from 'node:assert/strict';
import { test } from 'node:test';
import jsonLogic from 'json-logic-js';
import { createExchange, messageOf } from '../../../src/routing/exchange.ts';
import { Expressions } from '../../../src/routing/expression.ts';

const ex = (body: unknown, headers = {}) => createExchange({ routeId: 't', message: messageOf(body, headers), onSettled: () => {} });

test('expressions see body, headers, properties and destination', () => {
  const e = new Expressions();
  const x = ex({ celsius: 31 }, { site: 'b' });
  x.properties.unit = 'C';
  assert.equal(e.compile({ cat: [{ var: 'body.celsius' }, { var: 'properties.unit' }, '@', { var: 'headers.site' }] })(x), '31C@b');
  assert.equal(e.predicate({ '>': [{ var: 'body.celsius' }, 30] })(x), true);
  e.dispose();
});

test('operators outside the allow-list are refused with the path', () => {
  const e = new Expressions();
  assert.throws(() => e.compile({ and: [true, { log: 'x' }] }, 'steps[0].filter'), /steps\[0\]\.filter\.and\[1\]: operator 'log' is not allowed/);
  assert.throws(() => e.compile({ a: 1, b: 2 }), /exactly one key/);
  e.dispose();
});

test('custom operations belong to one instance and do not leak to another or to json-logic', () => {
  const a = new Expressions();
  const b = new Expressions();
  a.addOperation('fahrenheit', (c: number) => c * 1.8 + 32);
  assert.equal(a.compile({ fahrenheit: { var: 'body.c' } })(ex({ c: 100 })), 212);
  assert.throws(() => b.compile({ fahrenheit: 1 }), /not allowed/);
  assert.throws(() => jsonLogic.apply({ fahrenheit: [1] } as never), /Unrecognized operation/);
  a.dispose();
  b.dispose();
});

test('the body is parsed once, lazily, and again only when it changes', () => {
  const x = ex({ n: 1 });
  const first = x.body();
  assert.equal(x.body(), first, 'same parsed object');
  x.setBody({ n: 2 });
  assert.deepEqual(x.body(), { n: 2 });
  const text = createExchange({ routeId: 't', message: { body: Buffer.from('hello'), bodyType: 'text', headers: {}, durable: false }, onSettled: () => {} });
  assert.equal(text.body(), 'hello');
});
