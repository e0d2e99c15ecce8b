import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseEndpoint } from '../../../src/routing/endpoints/endpoint-uri.ts';
import { startBroker } from '../../helpers/broker.ts';

/*
 * Numeric options of a remote endpoint URI are checked at deploy, as sendTimeout is: MQTT.js took
 * `?reconnectPeriod=abc` as NaN, which switches its reconnecting off (the route never came back
 * after the remote's first restart), and `?qos=2` quietly became QoS 1. And the options of an
 * mqtt:// URI whose filter ends in '#' were all dropped (the URL parser takes '#...' for a
 * fragment, query included): username and password, clientId, qos, sendTimeout.
 */
test('mqtt:// reconnectPeriod and qos: whole numbers in range, checked when the URI is parsed', () => {
  for (const bad of ['abc', '', '0', '-5', '1.5', '3600001']) {
    assert.throws(() => parseEndpoint(`mqtt://h/a?reconnectPeriod=${bad}`), { code: 'ERR_ROUTE_INVALID', message: /reconnectPeriod must be a whole number of ms/ }, bad);
  }
  for (const bad of ['2', 'x', '']) assert.throws(() => parseEndpoint(`mqtt://h/a?qos=${bad}`), { code: 'ERR_ROUTE_INVALID', message: /qos must be 0 or 1/ }, bad);
  const ok = parseEndpoint('mqtt://h/a/#?reconnectPeriod=250&qos=0');
  assert.equal(ok.scheme, 'mqtt');
  assert.equal(ok.scheme === 'mqtt' && ok.topic, 'a/#');
});

test("the options after an mqtt:// filter ending in '#' are the endpoint's options", () => {
  const e = parseEndpoint('mqtt://h:1884/sensors/#?username=bob&password=pw&qos=0&sendTimeout=250&clientId=c1');
  assert.ok(e.scheme === 'mqtt');
  assert.equal(e.topic, 'sensors/#');
  assert.deepEqual([...e.options], [['username', 'bob'], ['password', 'pw'], ['qos', '0'], ['sendTimeout', '250'], ['clientId', 'c1']]);
  assert.equal(e.sendTimeout, 250);
  assert.equal(e.endpoint, 'mqtt://h:1884/sensors/#', 'logged without the query');
  assert.throws(() => parseEndpoint('mqtt://h/a/#?reconnectPeriod=abc'), { code: 'ERR_ROUTE_INVALID' });
  assert.deepEqual([...parseEndpoint('mqtt://h/a/#').options], []);
});

test('a route whose mqtt:// endpoint has reconnectPeriod=abc is refused at deploy', async (t) => {
  const broker = await startBroker();
  t.after(() => broker.close());
  for (const where of ['from', 'to'] as const) {
    const uri = 'mqtt://127.0.0.1:1/a?reconnectPeriod=abc';
    const def = where === 'from' ? { id: 'r-from', from: uri, steps: [{ to: 'queue:x' }] } : { id: 'r-to', from: 'queue:x', steps: [{ to: uri }] };
    await assert.rejects(broker.routes.deploy(def), { code: 'ERR_ROUTE_INVALID', message: /reconnectPeriod/ });
  }
});
