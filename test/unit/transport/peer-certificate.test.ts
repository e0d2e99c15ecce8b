import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseSubjectAltNames, rfc4514 } from '../../../src/transport/peer-certificate.ts';

test('rfc4514: Node\'s multi-line subject in RFC 4514 order (last RDN first), escapes kept, multi-valued RDNs joined by +', () => {
  assert.equal(rfc4514('C=US\nO=Acme\nCN=device1'), 'CN=device1,O=Acme,C=US');
  assert.equal(rfc4514('O=Junction Example\nCN=device1'), 'CN=device1,O=Junction Example');
  // RFC 2253 escaping as OpenSSL writes it stays: a ',' or '+' in a value is not a separator.
  assert.equal(rfc4514('O=Acme\\, Inc.\nCN=a\\+b'), 'CN=a\\+b,O=Acme\\, Inc.');
  assert.equal(rfc4514('O=Acme\nCN=device1 + UID=42'), 'CN=device1+UID=42,O=Acme');
  assert.equal(rfc4514(''), '');
});

test('parseSubjectAltNames: the entries, a JSON-quoted value decoded (so a "," in a SAN cannot forge another entry)', () => {
  assert.deepEqual(parseSubjectAltNames('DNS:localhost, IP Address:127.0.0.1, email:a@b.c'), ['DNS:localhost', 'IP Address:127.0.0.1', 'email:a@b.c']);
  assert.deepEqual(parseSubjectAltNames('DNS:"evil, DNS:bank.example", URI:urn:x'), ['DNS:evil, DNS:bank.example', 'URI:urn:x']);
  assert.deepEqual(parseSubjectAltNames('DNS:"a\\"b"'), ['DNS:a"b']);
  assert.deepEqual(parseSubjectAltNames(undefined), []);
  assert.deepEqual(parseSubjectAltNames(''), []);
});
