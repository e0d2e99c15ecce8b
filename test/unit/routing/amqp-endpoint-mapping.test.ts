import assert from 'node:assert/strict';
import { test } from 'node:test';
import type rhea from 'rhea';
import { fromAmqp } from '../../../src/routing/endpoints/amqp-endpoint.ts';

/*
 * The amqp:// route source maps what a remote broker delivered through the interop mapping, but a
 * delivered message was scheduled by that broker already: its x-opt-delivery-* annotations (which
 * Artemis and Junction's own AMQP port send on as they came) must not make the route wait again.
 */

test('an amqp:// source does not schedule a delivered message again by its delivery annotations', () => {
  const now = Date.now();
  for (const annotations of [{ 'x-opt-delivery-delay': 60_000 }, { 'x-opt-delivery-time': now + 60_000 }]) {
    const m = fromAmqp({ body: 'due', ttl: 30_000, message_annotations: annotations } as rhea.Message, 'amqp://remote:5672/q');
    assert.equal(m.deliveryTime, undefined, JSON.stringify(annotations));
    // The other fields still map: the ttl is an expiry.
    assert.ok(m.expiration !== undefined && m.expiration >= now + 30_000);
    assert.equal(m.body.toString(), 'due');
  }
});
