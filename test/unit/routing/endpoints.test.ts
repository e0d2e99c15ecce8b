import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Core } from '../../../src/core/core.ts';
import { RouteEndpoints } from '../../../src/routing/endpoints/endpoints.ts';

const log = { debug() {}, info() {}, warn() {}, error() {} };

test('route endpoints: producers for URIs taken from messages are bounded (least recently used go first)', async () => {
  // Queue producers make no use of the core until they send.
  const endpoints = new RouteEndpoints({} as Core, 'r', log, 3);
  const fixed = endpoints.producer('queue:dlq');
  endpoints.seal();
  for (let i = 0; i < 100; i++) endpoints.producer(`queue:region.${i}`);
  assert.equal(endpoints.size, 4, 'the compiled producer and the last 3 run-time ones');
  assert.equal(endpoints.producer('queue:dlq'), fixed, 'compiled producers are never evicted');
  const recent = endpoints.producer('queue:region.97');
  endpoints.producer('queue:region.100');
  assert.equal(endpoints.producer('queue:region.97'), recent, 'a recently used producer is kept');
  await endpoints.close();
  assert.equal(endpoints.size, 0);
});
