import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { captureLog, type LogCapture } from '../helpers/log-capture.ts';

/*
 * Attack on remote endpoint redaction (issue 14 part 4): passwords a URI spells in ways the masking
 * did not expect, on the deploy error path, the send failure path (nothing listens), the route
 * listing and the log.
 */

const SECRET = 'Zq9secretWord';
let log: LogCapture;
let broker: TestBroker;
before(async () => {
  log = captureLog('debug');
  broker = await startBroker({}, { logger: log.logger });
});
after(() => broker.stop());

function assertNoSecret(where: string, text: string): void {
  assert.ok(!text.includes(SECRET), `${where} holds the password: ${text}`);
}

test('an unencoded @ in the user name, a password with / (the URI does not parse), a percent-encoded ?password= name: masked everywhere', async () => {
  // The URL parser takes the last '@': user `us@er`, password `:Zq9...` (used, and was shown).
  await broker.routes.deploy({ id: 'at-user', from: 'queue:r.a', steps: [{ to: `amqp://us@er:x:${SECRET}@127.0.0.1:1/q?sendTimeout=200` }] });
  // URLSearchParams decodes the name: `pass%77ord` is the password option (used, and was shown).
  await broker.routes.deploy({ id: 'enc-option', from: 'queue:r.b', steps: [{ to: `mqtt://127.0.0.1:1/t?username=u&pass%77ord=${SECRET}&sendTimeout=200` }] });
  const mark = log.lines.length;
  await broker.core.send({ destination: { type: 'queue', name: 'r.a' }, body: Buffer.from('x') });
  await broker.core.send({ destination: { type: 'queue', name: 'r.b' }, body: Buffer.from('x') });
  await log.waitFor((l) => log.lines.indexOf(l) >= mark && l.route === 'at-user' && l.msg === 'route step failed', 'at-user send failed');
  await log.waitFor((l) => log.lines.indexOf(l) >= mark && l.route === 'enc-option' && l.msg === 'route step failed', 'enc-option send failed');
  // A password with an unencoded '/': the URI does not parse, and the error named it whole.
  await assert.rejects(broker.routes.deploy({ id: 'slash', from: 'queue:r.c', steps: [{ to: `amqps://bob:a/${SECRET}@localhost/q` }] }), (err: Error) => {
    assertNoSecret('deploy error', err.message);
    assert.match(err.message, /amqps:\/\/\*\*\*@/);
    return true;
  });
  for (const id of ['at-user', 'enc-option']) assertNoSecret(`describe(${id})`, JSON.stringify(broker.routes.describe(id)));
  assertNoSecret('list()', JSON.stringify(broker.routes.list()));
  assertNoSecret('the log', JSON.stringify(log.lines));
});
