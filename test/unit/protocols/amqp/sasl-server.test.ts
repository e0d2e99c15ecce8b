import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Authenticator } from '../../../../src/core/ports/security.ts';
import { offeredMechanisms, parsePlain, SASL_CODE, saslCode } from '../../../../src/protocols/amqp/sasl-server.ts';

const auth = (anonymousAllowed: boolean): Authenticator => ({ enabled: true, anonymousAllowed, login: () => Promise.reject(new Error('not called')) });
const CERT = { subject: 'CN=device1', subjectAltNames: [], fingerprint256: 'AA' };

describe('SASL server parts', () => {
  test('PLAIN: authzid NUL authcid NUL passwd (RFC 4616), UTF-8; anything else is malformed', () => {
    assert.deepEqual(parsePlain(Buffer.from('\0alice\0s3cret')), { user: 'alice', password: 's3cret' });
    assert.deepEqual(parsePlain(Buffer.from('admin\0alice\0pw')), { user: 'alice', password: 'pw' }, 'authzid ignored (Artemis)');
    assert.deepEqual(parsePlain(Buffer.from('\0jürgen\0pässwörd')), { user: 'jürgen', password: 'pässwörd' });
    assert.deepEqual(parsePlain(Buffer.from('\0alice\0')), { user: 'alice', password: '' });
    assert.equal(parsePlain(Buffer.from('\0\0pw')), undefined, 'empty user name');
    assert.equal(parsePlain(Buffer.from('alice\0pw')), undefined, 'two fields');
    assert.equal(parsePlain(Buffer.from('\0alice\0pw\0x')), undefined, 'four fields');
    assert.equal(parsePlain(Buffer.alloc(0)), undefined);
    assert.equal(parsePlain(undefined), undefined);
  });

  test('outcome codes (AMQP 1.0 §5.3.3.6): auth for credentials, sys-temp for throttling and limits', () => {
    assert.equal(saslCode('credentials'), SASL_CODE.auth);
    assert.equal(saslCode('not-authorized'), SASL_CODE.auth);
    assert.equal(saslCode('throttled'), 4);
    assert.equal(saslCode('limit'), 4);
  });

  test('ANONYMOUS only when the authenticator allows it, EXTERNAL only with a verified certificate, in the configured order', () => {
    const all = ['ANONYMOUS', 'PLAIN', 'EXTERNAL'] as const;
    assert.deepEqual(offeredMechanisms({ auth: auth(false), mechanisms: all, certificate: undefined }), ['PLAIN']);
    assert.deepEqual(offeredMechanisms({ auth: auth(true), mechanisms: all, certificate: undefined }), ['ANONYMOUS', 'PLAIN']);
    assert.deepEqual(offeredMechanisms({ auth: auth(false), mechanisms: all, certificate: CERT }), ['PLAIN', 'EXTERNAL']);
    assert.deepEqual(offeredMechanisms({ auth: auth(true), mechanisms: ['PLAIN'], certificate: CERT }), ['PLAIN'], 'the config still decides');
  });

});
