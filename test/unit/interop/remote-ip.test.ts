import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { remoteIp } from '../../../src/interop/remote-ip.ts';

describe('remoteIp', () => {
  test("the peer's IP without its port, an IPv4-mapped address as IPv4 (failed logins count per host)", () => {
    assert.equal(remoteIp('127.0.0.1:40110'), '127.0.0.1');
    assert.equal(remoteIp('::ffff:10.0.0.7:5672'), '10.0.0.7');
    assert.equal(remoteIp('::1:5555'), '::1');
    assert.equal(remoteIp('2001:db8::2:61000'), '2001:db8::2');
    assert.equal(remoteIp('(closed)'), '(closed)');
  });
});
