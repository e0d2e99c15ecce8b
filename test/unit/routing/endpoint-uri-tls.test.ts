import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseEndpoint, redactSecrets, redactUri } from '../../../src/routing/endpoints/endpoint-uri.ts';

test('amqps:// and mqtts:// are TLS, on 5671 and 8883 by default, with their TLS options', () => {
  const a = parseEndpoint('amqps://broker.example/orders?ca=/etc/ca.pem&cert=/c.pem&key=/k.pem');
  assert.ok(a.scheme === 'amqp');
  assert.equal(a.port, 5671);
  assert.deepEqual(a.tls, { rejectUnauthorized: true, ca: '/etc/ca.pem', cert: '/c.pem', key: '/k.pem' });
  assert.equal(a.endpoint, 'amqps://broker.example:5671/orders');
  const m = parseEndpoint('mqtts://h/sensors/#?ca=/ca.pem&rejectUnauthorized=false&servername=mq.example');
  assert.ok(m.scheme === 'mqtt');
  assert.equal(m.port, 8883);
  assert.equal(m.topic, 'sensors/#');
  assert.deepEqual(m.tls, { rejectUnauthorized: false, ca: '/ca.pem', servername: 'mq.example' });
  const plain = parseEndpoint('amqp://h/q');
  assert.ok(plain.scheme === 'amqp');
  assert.equal(plain.port, 5672);
  assert.equal(plain.tls, undefined);
});

test('TLS options are refused on a plaintext scheme, and malformed ones at parse', () => {
  assert.throws(() => parseEndpoint('amqp://h/q?ca=/ca.pem'), { code: 'ERR_ROUTE_INVALID', message: /\?ca= is a TLS option: use amqps:\/\// });
  assert.throws(() => parseEndpoint('mqtt://h/t?rejectUnauthorized=false'), { message: /use mqtts:\/\// });
  assert.throws(() => parseEndpoint('amqps://h/q?rejectUnauthorized=no'), { message: /rejectUnauthorized must be true or false/ });
  assert.throws(() => parseEndpoint('amqps://h/q?cert=/c.pem'), { message: /needs both \?cert= and \?key=/ });
  assert.throws(() => parseEndpoint('mqtts://h/t?ca='), { message: /\?ca= is empty/ });
});

test('credentials: the user info (percent-decoded) wins over ?username=&password=', () => {
  const a = parseEndpoint('amqps://bob:s%40cret%2Fx@h:5671/q?username=other&password=nope');
  assert.deepEqual(a.scheme === 'amqp' && a.credentials, { username: 'bob', password: 's@cret/x' });
  const m = parseEndpoint('mqtt://h/t/#?username=alice&password=pw');
  assert.deepEqual(m.scheme === 'mqtt' && m.credentials, { username: 'alice', password: 'pw' });
  const u = parseEndpoint('mqtt://alice@h/t');
  assert.deepEqual(u.scheme === 'mqtt' && u.credentials, { username: 'alice', password: '' });
  assert.equal((parseEndpoint('mqtt://h/t') as { credentials?: unknown }).credentials, undefined);
});

test('redactUri masks user-info passwords and password options, and nothing else', () => {
  assert.equal(redactUri('amqps://bob:s3cret@h:5671/q?ca=/ca.pem'), 'amqps://bob:***@h:5671/q?ca=/ca.pem');
  assert.equal(redactUri('mqtt://h/a/#?username=u&password=pw&qos=0'), 'mqtt://h/a/#?username=u&password=***&qos=0');
  // The user info ends at the authority's last '@' (an '@' in a password need not be escaped for the parser).
  assert.equal(redactUri('amqp://u:p@ss@host/q'), 'amqp://u:***@host/q');
  assert.equal(redactUri('amqp://u:p@host/q?x=a@b'), 'amqp://u:***@host/q?x=a@b');
  // URIs inside a longer text (an error message, a step's JSON) too.
  assert.equal(redactUri('{"to":"amqp://u:pw@h/q","x":"mqtt://h/t?password=pw"}'), '{"to":"amqp://u:***@h/q","x":"mqtt://h/t?password=***"}');
  for (const same of ['queue:orders', 'mqtt://h:1883/a/b', 'amqp://user@h/q', 'log:x?level=info']) assert.equal(redactUri(same), same);
  // A deploy error names the URI masked.
  assert.throws(() => parseEndpoint('amqps://bob:s3cret@h/q?rejectUnauthorized=maybe'), (err: Error) => !err.message.includes('s3cret') && err.message.includes('bob:***@h'));
});

test('redactSecrets copies a definition with every endpoint masked, functions kept', () => {
  const fn = () => true;
  const def = { id: 'r', from: 'amqps://u:pw@h/q', steps: [{ to: 'mqtt://h/t?password=pw' }, { filter: fn }, { multicast: ['queue:a', 'amqp://x:y@h/q'] }] };
  const out = redactSecrets(def);
  assert.deepEqual(JSON.parse(JSON.stringify(out)), { id: 'r', from: 'amqps://u:***@h/q', steps: [{ to: 'mqtt://h/t?password=***' }, {}, { multicast: ['queue:a', 'amqp://x:***@h/q'] }] });
  assert.equal((out.steps[1] as { filter: unknown }).filter, fn);
  assert.equal(def.from, 'amqps://u:pw@h/q', 'the original is not changed');
});
