import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PERMISSIONS, type Subject } from '../../../src/core/ports/security.ts';
import { MAX_CACHED_ADDRESSES, PermissionTable } from '../../../src/security/permission-table.ts';

const subject = (user: string | undefined, roles: string[], clientId?: string): Subject => ({ user, roles: new Set(roles), clientId });

test('the most specific matching pattern decides: literal beats *, * beats >, longer beats shorter', () => {
  const t = new PermissionTable({
    '#': { send: ['all'], consume: ['all'] },
    'orders.>': { send: ['sales'] },
    'orders.*': { consume: ['sales'] },
    'orders.eu': { browse: ['sales'] },
  });
  const s = subject('ann', ['sales', 'all']);
  assert.equal(t.allowed(s, 'orders.eu', 'browse'), true);
  // orders.eu decides alone: its send and consume are not granted.
  assert.equal(t.allowed(s, 'orders.eu', 'send'), false);
  assert.equal(t.allowed(s, 'orders.eu', 'consume'), false);
  assert.equal(t.allowed(s, 'orders.us', 'consume'), true);
  assert.equal(t.allowed(s, 'orders.us', 'send'), false);
  assert.equal(t.allowed(s, 'orders.us.west', 'send'), true);
  assert.equal(t.allowed(s, 'orders.us.west', 'consume'), false);
  // orders.> matches orders itself (zero segments) and is more specific than #.
  assert.equal(t.allowed(s, 'orders', 'send'), true);
  assert.equal(t.allowed(s, 'orders', 'consume'), false);
  assert.equal(t.allowed(s, 'invoices', 'consume'), true);
});

test('no inheritance: a more specific entry that grants nothing to the role denies everything a wider one granted', () => {
  const t = new PermissionTable({ '#': { send: ['dev'], consume: ['dev'] }, 'secret.>': { consume: ['ops'] } });
  const dev = subject('d', ['dev']);
  assert.equal(t.allowed(dev, 'public.x', 'send'), true);
  assert.equal(t.allowed(dev, 'secret.x', 'send'), false);
  assert.equal(t.allowed(dev, 'secret.x', 'consume'), false);
  assert.equal(t.allowed(subject('o', ['ops']), 'secret.x', 'consume'), true);
});

test('what is not granted is denied: no matching pattern, no role, an unknown role, every permission', () => {
  const t = new PermissionTable({ 'a.>': { send: ['r'] } });
  for (const p of PERMISSIONS) assert.equal(t.allowed(subject('u', ['r']), 'b', p), false, p);
  for (const p of PERMISSIONS) assert.equal(t.allowed(subject('u', ['r']), 'a.x', p), p === 'send', p);
  assert.equal(t.allowed(subject('u', []), 'a.x', 'send'), false);
  assert.equal(t.allowed(subject('u', ['x']), 'a.x', 'send'), false);
  assert.equal(new PermissionTable({}).allowed(subject('u', ['r']), 'a', 'send'), false);
});

test('a subject holds the union of what its roles are granted in the deciding entry', () => {
  const t = new PermissionTable({ q: { send: ['p'], consume: ['c'], createDurableQueue: ['c'] } });
  const both = subject('u', ['p', 'c']);
  assert.equal(t.allowed(both, 'q', 'send'), true);
  assert.equal(t.allowed(both, 'q', 'consume'), true);
  assert.equal(t.allowed(both, 'q', 'createDurableQueue'), true);
  assert.equal(t.allowed(both, 'q', 'deleteDurableQueue'), false);
});

test('%u and %c stand for the user and the client id; a missing or unsafe value never matches', () => {
  const t = new PermissionTable({
    'devices.%u.>': { send: ['device'], consume: ['device'] },
    'clients.%c': { consume: ['device'] },
    '#': { browse: ['device'] },
  });
  const alice = subject('alice', ['device'], 'alice-1');
  assert.equal(t.allowed(alice, 'devices.alice.temp', 'send'), true);
  assert.equal(t.allowed(alice, 'devices.bob.temp', 'send'), false);
  assert.equal(t.allowed(alice, 'clients.alice-1', 'consume'), true);
  assert.equal(t.allowed(alice, 'clients.bob-1', 'consume'), false);
  // The anonymous subject has no user: %u matches nothing, # decides.
  const anon = subject(undefined, ['device']);
  assert.equal(t.allowed(anon, 'devices.undefined.temp', 'send'), false);
  assert.equal(t.allowed(anon, 'devices.undefined.temp', 'browse'), true);
  // A user name that is a wildcard or holds a separator would widen the pattern: it matches nothing.
  for (const evil of ['>', '*', 'a.b', '#']) {
    const s = subject(evil, ['device'], evil);
    assert.equal(t.allowed(s, 'devices.x.temp', 'send'), false, evil);
    assert.equal(t.allowed(s, 'devices.a.b.temp', 'send'), false, evil);
    assert.equal(t.allowed(s, 'clients.x', 'consume'), false, evil);
  }
});

test('a template and an explicit pattern of equal specificity: the explicit one decides', () => {
  const t = new PermissionTable({ 'home.%u': { send: ['r'] }, 'home.alice': { consume: ['r'] } });
  const alice = subject('alice', ['r']);
  assert.equal(t.allowed(alice, 'home.alice', 'consume'), true);
  assert.equal(t.allowed(alice, 'home.alice', 'send'), false);
  assert.equal(t.allowed(subject('bob', ['r']), 'home.bob', 'send'), true);
});

test('decisions are cached per subject: a second subject with other roles gets its own answers', () => {
  const t = new PermissionTable({ q: { send: ['a'] } });
  const a = subject('x', ['a']);
  const b = subject('x', ['b']);
  for (let i = 0; i < 3; i++) {
    assert.equal(t.allowed(a, 'q', 'send'), true);
    assert.equal(t.allowed(b, 'q', 'send'), false);
  }
});

test('after the first check of an address the cached decision answers: roles are not read again until clear()', () => {
  const t = new PermissionTable({ q: { send: ['a'] }, 'r.*': { consume: ['a'] } });
  let reads = 0;
  const roles = new Set(['a']);
  const s: Subject = {
    user: 'x',
    get roles() {
      reads++;
      return roles;
    },
  };
  assert.equal(t.allowed(s, 'q', 'send'), true);
  assert.equal(reads, 1);
  for (let i = 0; i < 100; i++) assert.equal(t.allowed(s, 'q', i % 2 ? 'send' : 'consume'), i % 2 === 1);
  assert.equal(reads, 1, 'every permission of an address comes from the one cached bit set');
  assert.equal(t.allowed(s, 'r.1', 'consume'), true);
  assert.equal(reads, 2);
  // Another subject in between does not evict the first one's decisions.
  t.allowed(subject('y', ['a']), 'q', 'send');
  assert.equal(t.allowed(s, 'q', 'send'), true);
  assert.equal(reads, 2);
  t.clear();
  assert.equal(t.allowed(s, 'q', 'send'), true);
  assert.equal(reads, 3);
});

test('one subject caches at most MAX_CACHED_ADDRESSES addresses and keeps answering right past it', () => {
  const t = new PermissionTable({ 'n.*': { send: ['r'] } });
  const s = subject('u', ['r']);
  for (let i = 0; i < MAX_CACHED_ADDRESSES + 10; i++) assert.equal(t.allowed(s, `n.${i}`, 'send'), true);
  assert.equal(t.allowed(s, 'm.1', 'send'), false);
  assert.equal(t.allowed(s, 'n.0', 'send'), true);
});

test('a subscription filter is checked as written: only a pattern covering all it matches decides (a.* never grants a.>)', () => {
  const t = new PermissionTable({ 'a.*': { consume: ['r'] }, 'b.>': { consume: ['r'] } });
  const s = subject('u', ['r']);
  assert.equal(t.allowed(s, 'a.*', 'consume'), true);
  assert.equal(t.allowed(s, 'a.x', 'consume'), true);
  assert.equal(t.allowed(s, 'a.>', 'consume'), false, 'a.> also reads a.x.y, which a.* does not grant');
  assert.equal(t.allowed(s, 'a.#', 'consume'), false);
  assert.equal(t.allowed(s, '>', 'consume'), false);
  assert.equal(t.allowed(s, '*.x', 'consume'), false);
  assert.equal(t.allowed(s, 'b.*', 'consume'), true);
  assert.equal(t.allowed(s, 'b.>', 'consume'), true);
  assert.equal(t.allowed(s, 'b.*.c.>', 'consume'), true);
});

test('a filter is checked as written (Artemis): a more specific pattern inside it is not consulted, one covering it is', () => {
  const t = new PermissionTable({ '#': { consume: ['r'] }, 'test.nosubscribe': { send: ['r'] }, 'secret.>': {} });
  const s = subject('u', ['r']);
  assert.equal(t.allowed(s, 'test.nosubscribe', 'consume'), false);
  // Paho's interoperability suite subscribes to # with test/nosubscribe refused: # is granted.
  assert.equal(t.allowed(s, '>', 'consume'), true);
  assert.equal(t.allowed(s, 'test.*', 'consume'), true);
  assert.equal(t.allowed(s, 'secret.>', 'consume'), false);
  assert.equal(t.allowed(s, 'secret.*', 'consume'), false);
  assert.equal(t.allowed(s, 'secret.x.>', 'consume'), false);
});
