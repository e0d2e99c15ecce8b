import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_SCRYPT, hashPassword, needsRehash, parseHash, verifyPassword } from '../../../src/security/password-hash.ts';

/** Cheap parameters keep the tests fast; the default ones are checked once. */
const FAST = { ln: 10, r: 8, p: 1 };

test('a hash is a PHC scrypt string that verifies the password it was made from (default parameters)', async () => {
  const phc = await hashPassword('correct horse');
  assert.match(phc, /^\$scrypt\$ln=15,r=8,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
  assert.deepEqual(parseHash(phc)?.params, DEFAULT_SCRYPT);
  assert.equal(await verifyPassword('correct horse', phc), true);
  assert.equal(await verifyPassword('correct horsf', phc), false);
});

test('the same password hashes differently each time (random salt), and both verify', async () => {
  const a = await hashPassword('pw', FAST);
  const b = await hashPassword('pw', FAST);
  assert.notEqual(a, b);
  assert.equal(await verifyPassword('pw', a), true);
  assert.equal(await verifyPassword('pw', b), true);
});

test('a wrong, empty or differently normalised-but-different password does not verify', async () => {
  const phc = await hashPassword('pässword', FAST);
  assert.equal(await verifyPassword('password', phc), false);
  assert.equal(await verifyPassword('', phc), false);
  // NFC and NFD spellings of the same text are the same password.
  assert.equal(await verifyPassword('pa\u0308ssword', phc), true);
});

test('a tampered string never verifies: changed hash, salt, parameters, or parameters out of bounds', async () => {
  const phc = await hashPassword('pw', FAST);
  const [, , params, salt, hash] = phc.split('$') as [string, string, string, string, string];
  const flip = (s: string) => (s[0] === 'A' ? 'B' : 'A') + s.slice(1);
  for (const bad of [
    `$scrypt$${params}$${salt}$${flip(hash)}`,
    `$scrypt$${params}$${flip(salt)}$${hash}`,
    `$scrypt$ln=11,r=8,p=1$${salt}$${hash}`,
    `$scrypt$ln=31,r=8,p=1$${salt}$${hash}`, // would allocate 256 GiB
    `$scrypt$ln=10,r=99,p=1$${salt}$${hash}`,
    `$argon2id$${params}$${salt}$${hash}`,
    `$scrypt$${params}$${salt}$${hash}x`,
    `$scrypt$${params}$${salt}`,
    '',
    'plaintext',
  ]) {
    assert.equal(await verifyPassword('pw', bad), false, bad);
  }
  assert.equal(parseHash(`$scrypt$ln=31,r=8,p=1$${salt}$${hash}`), undefined);
});

test('parameters are read from the string: an old weaker hash still verifies and is reported for re-hashing', async () => {
  const old = await hashPassword('pw', { ln: 9, r: 8, p: 1 });
  assert.equal(await verifyPassword('pw', old), true);
  assert.equal(needsRehash(old), true);
  assert.equal(needsRehash(old, { ln: 9, r: 8, p: 1 }), false);
  const stronger = await hashPassword('pw', { ln: 11, r: 8, p: 2 });
  assert.equal(await verifyPassword('pw', stronger), true);
  assert.equal(needsRehash(stronger, { ln: 11, r: 8, p: 1 }), false);
  assert.equal(needsRehash('garbage'), true);
});

test('parameters out of bounds are refused when hashing', async () => {
  await assert.rejects(hashPassword('pw', { ln: 25, r: 8, p: 1 }), RangeError);
});
