import assert from 'node:assert/strict';
import { mock, test } from 'node:test';
import { PendingSends } from '../../../src/routing/endpoints/pending-sends.ts';
import { parseEndpoint } from '../../../src/routing/endpoints/endpoint-uri.ts';
import { validateDefinition } from '../../../src/routing/definition.ts';

/** A send's outcome as text: 'ok', the error's code, or 'pending'. */
function track(pending: PendingSends<string>, item: string, out: Map<string, string>) {
  out.set(item, 'pending');
  return pending.add(item, () => out.set(item, 'ok'), (e) => out.set(item, (e as Error & { code?: string }).code ?? e.message));
}

test('pending sends: each fails at its own deadline (sendTimeout after it was added), one timer for all', (t) => {
  mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 });
  t.after(() => mock.timers.reset());
  const expired: string[] = [];
  const pending = new PendingSends<string>(100, 'amqp://h:1/x', (p) => expired.push(p.item));
  const out = new Map<string, string>();
  const a = track(pending, 'a', out);
  mock.timers.tick(10);
  track(pending, 'b', out);
  mock.timers.tick(10);
  const c = track(pending, 'c', out);
  pending.resolve(c);
  mock.timers.tick(79); // t = 99
  assert.deepEqual([...out.values()], ['pending', 'pending', 'ok']);
  mock.timers.tick(1); // t = 100: a's deadline
  assert.deepEqual(Object.fromEntries(out), { a: 'ERR_ROUTE_TIMEOUT', b: 'pending', c: 'ok' });
  assert.deepEqual(expired, ['a']);
  pending.resolve(a); // a late outcome changes nothing
  assert.equal(out.get('a'), 'ERR_ROUTE_TIMEOUT');
  mock.timers.tick(10); // t = 110: b's deadline
  assert.deepEqual(Object.fromEntries(out), { a: 'ERR_ROUTE_TIMEOUT', b: 'ERR_ROUTE_TIMEOUT', c: 'ok' });
  assert.deepEqual(expired, ['a', 'b']);
  assert.equal(pending.size, 0);
});

test('pending sends: closing fails what is pending; no timer is left', (t) => {
  mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 });
  t.after(() => mock.timers.reset());
  const pending = new PendingSends<string>(100, 'mqtt://h:1/x');
  const out = new Map<string, string>();
  track(pending, 'a', out);
  pending.rejectAll(Object.assign(new Error('closed'), { code: 'ERR_ROUTE_ENDPOINT' }));
  assert.equal(out.get('a'), 'ERR_ROUTE_ENDPOINT');
  mock.timers.tick(1000);
  assert.equal(out.get('a'), 'ERR_ROUTE_ENDPOINT');
});

test('sendTimeout: per endpoint URI (checked at deploy) and per route (default 5000 ms)', () => {
  const e = parseEndpoint('amqp://user:pw@h:5673/x?sendTimeout=250&password=pw');
  assert.equal(e.scheme === 'amqp' && e.sendTimeout, 250);
  assert.equal(e.scheme === 'amqp' && e.endpoint, 'amqp://h:5673/x', 'logged without credentials');
  const m = parseEndpoint('mqtt://h/a/#');
  assert.equal(m.scheme === 'mqtt' && m.sendTimeout, undefined);
  assert.equal(m.scheme === 'mqtt' && m.endpoint, 'mqtt://h:1883/a/#');
  for (const bad of ['0', '-1', '1.5', 'soon', '3600001']) {
    assert.throws(() => parseEndpoint(`mqtt://h/a?sendTimeout=${bad}`), { code: 'ERR_ROUTE_INVALID', message: /sendTimeout must be a whole number/ });
  }
  assert.equal(validateDefinition({ id: 'r', from: 'queue:a', steps: [] }).sendTimeout, 5000);
  assert.equal(validateDefinition({ id: 'r', from: 'queue:a', steps: [], sendTimeout: 200 }).sendTimeout, 200);
  assert.throws(() => validateDefinition({ id: 'r', from: 'queue:a', steps: [], sendTimeout: 0 }), { code: 'ERR_ROUTE_INVALID' });
});
