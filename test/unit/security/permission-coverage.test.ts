import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Subject } from '../../../src/core/ports/security.ts';
import { PermissionTable } from '../../../src/security/permission-table.ts';

const subject = (user: string | undefined, roles: string[], clientId?: string): Subject => ({ user, roles: new Set(roles), clientId });

test('coverage: all when nothing under the filter takes the permission away, some when a more specific pattern does, none when the filter is denied', () => {
  const t = new PermissionTable({ '#': { consume: ['dev', 'ops'], send: ['dev'] }, 'secret.>': { consume: ['ops'] } });
  const dev = subject('d', ['dev']);
  const ops = subject('o', ['ops']);
  assert.equal(t.coverage(dev, '#', 'consume'), 'some');
  assert.equal(t.coverage(dev, '>', 'consume'), 'some');
  assert.equal(t.coverage(dev, '*', 'consume'), 'some', '* matches the address `secret` that secret.> decides');
  assert.equal(t.coverage(dev, '*.x', 'consume'), 'some');
  assert.equal(t.coverage(dev, 'public.#', 'consume'), 'all');
  assert.equal(t.coverage(dev, 'public.*.temp', 'consume'), 'all');
  assert.equal(t.coverage(dev, 'secret.#', 'consume'), 'none');
  assert.equal(t.coverage(dev, 'secret.*', 'consume'), 'none');
  assert.equal(t.coverage(ops, '#', 'consume'), 'all', 'secret.> grants consume to ops too');
  assert.equal(t.coverage(dev, '#', 'send'), 'some', 'secret.> grants dev no send either');
  assert.equal(t.coverage(ops, '#', 'send'), 'none');
  // A literal address is granted or not: there is nothing under it.
  assert.equal(t.coverage(dev, 'public.x', 'consume'), 'all');
  assert.equal(t.coverage(dev, 'secret.x', 'consume'), 'none');
  // Agrees with allowed(): none exactly when the filter as written is denied.
  for (const f of ['#', 'secret.#', 'public.*', 'a.b.c']) assert.equal(t.coverage(dev, f, 'consume') === 'none', !t.allowed(dev, f, 'consume'), f);
});

test('coverage: only patterns overlapping the filter and at least as specific as its decider count', () => {
  const t = new PermissionTable({
    'a.>': { consume: ['r'] },
    'a.b.secret': { browse: ['r'] },
    'x.>': { consume: ['r'] },
    'a': { send: ['r'] },
  });
  const r = subject('u', ['r']);
  assert.equal(t.coverage(r, 'a.*', 'consume'), 'all', 'a.b.secret has three segments: a.* cannot match it');
  assert.equal(t.coverage(r, 'a.*.*', 'consume'), 'some');
  assert.equal(t.coverage(r, 'a.b.>', 'consume'), 'some');
  assert.equal(t.coverage(r, 'a.c.>', 'consume'), 'all');
  assert.equal(t.coverage(r, 'x.#', 'consume'), 'all');
  // `a.>` matches `a` too (zero segments), which the literal pattern `a` decides without consume.
  assert.equal(t.coverage(r, 'a.>', 'consume'), 'some');
});

test('coverage: a less specific pattern overlapping the filter never restricts it', () => {
  const t = new PermissionTable({ '#': { send: ['r'] }, 'data.>': { consume: ['r'] } });
  assert.equal(t.coverage(subject('u', ['r']), 'data.#', 'consume'), 'all');
});

test('coverage: %u and %c patterns are substituted per subject and cached per subject', () => {
  const t = new PermissionTable({ 'devices.>': { consume: ['dev'] }, 'devices.%u.private.>': { send: ['dev'] }, 'c.>': { consume: ['dev'] }, 'c.%c.hidden': {} });
  const ann = subject('ann', ['dev'], 'ann-1');
  const bob = subject('bob', ['dev'], 'bob-1');
  const anon = subject(undefined, ['dev']);
  // ann's own private tree takes consume away from ann only.
  assert.equal(t.coverage(ann, 'devices.ann.#', 'consume'), 'some');
  assert.equal(t.coverage(bob, 'devices.ann.#', 'consume'), 'all');
  assert.equal(t.coverage(ann, 'devices.#', 'consume'), 'some');
  assert.equal(t.coverage(anon, 'devices.#', 'consume'), 'all', 'the anonymous subject never matches a %u pattern');
  assert.equal(t.coverage(bob, 'devices.bob.#', 'consume'), 'some');
  assert.equal(t.coverage(ann, 'c.*.hidden', 'consume'), 'some');
  assert.equal(t.coverage(ann, 'c.bob-1.#', 'consume'), 'all');
  assert.equal(t.coverage(bob, 'c.bob-1.#', 'consume'), 'some');
  // Asked again: the same answers from the cache, and allowed() unchanged by the extra bits.
  assert.equal(t.coverage(ann, 'devices.ann.#', 'consume'), 'some');
  assert.equal(t.coverage(bob, 'devices.ann.#', 'consume'), 'all');
  assert.equal(t.allowed(ann, 'devices.ann.#', 'consume'), true);
  assert.equal(t.allowed(ann, 'devices.ann.#', 'send'), false);
  assert.equal(t.allowed(ann, 'devices.ann.private.x', 'send'), true);
  assert.equal(t.allowed(ann, 'devices.ann.private.x', 'consume'), false);
});

test('coverage: cached with the filter decision and forgotten by clear()', () => {
  const t = new PermissionTable({ '#': { consume: ['dev'] }, 'secret.>': {} });
  const dev = subject('d', ['dev']);
  // allowed() first (the send path fills the cache), coverage afterwards on the same entry.
  assert.equal(t.allowed(dev, '#', 'consume'), true);
  assert.equal(t.coverage(dev, '#', 'consume'), 'some');
  assert.equal(t.allowed(dev, '#', 'consume'), true);
  assert.equal(t.allowed(dev, '#', 'send'), false);
  t.clear();
  assert.equal(t.coverage(dev, '#', 'consume'), 'some');
  assert.equal(t.coverage(dev, 'public.#', 'consume'), 'all');
});
