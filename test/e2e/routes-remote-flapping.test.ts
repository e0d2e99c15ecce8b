import assert from 'node:assert/strict';
import { once } from 'node:events';
import { test } from 'node:test';
import rhea from 'rhea';
import { startBroker } from '../helpers/broker.ts';
import { captureLog } from '../helpers/log-capture.ts';

/*
 * A remote AMQP peer that flaps: it accepts the connection and our link, then closes the
 * connection at once (a broker at its connection limit, an admin tool dropping clients). rhea
 * resets its reconnect backoff on every TCP connect, so the endpoint reconnected every 100 ms for
 * ever, with a "down" and a "back" log line each time (issue 12 item 12: a remote that is down is
 * logged once, not per attempt). The backoff now restarts only after a connection that stayed up.
 * The assertion is on gaps between attempts, which a slow machine only makes longer.
 */
test('an amqp:// remote that accepts and drops each connection at once is retried with a growing delay', { timeout: 60_000 }, async (t) => {
  const attempts: number[] = [];
  const peer = rhea.create_container({ id: 'flapping-peer' });
  peer.on('connection_open', () => attempts.push(Date.now()));
  peer.on('sender_open', () => {}); // our receiver's peer link, if any
  peer.on('receiver_open', (ctx: rhea.EventContext) => ctx.connection.close({ condition: 'amqp:connection:forced', description: 'flapping' }));
  peer.on('error', () => {});
  const server = peer.listen({ port: 0, host: '127.0.0.1' });
  await once(server, 'listening');
  t.after(() => server.close());
  const port = (server.address() as { port: number }).port;

  const log = captureLog();
  const broker = await startBroker({}, { logger: log.logger });
  t.after(() => broker.close());
  const endpoint = `amqp://127.0.0.1:${port}/x`;
  await broker.routes.deploy({ id: 'flap', from: 'queue:flap.in', steps: [{ to: endpoint }] });

  // Backoff from 100 ms, doubling: the 6th attempt comes at least 1.6 s after the 5th (it came
  // 100 ms after it, each time). Waited for by polling the peer's count, at most 30 s.
  for (let i = 0; i < 300 && attempts.length < 6; i++) await new Promise((r) => setTimeout(r, 100));
  assert.ok(attempts.length >= 6, `only ${attempts.length} connections in 30 s`);
  const gaps = attempts.slice(1).map((at, i) => at - attempts[i]!);
  assert.ok(gaps[4]! >= 1000, `reconnect gaps did not grow: ${gaps.join(', ')} ms`);
  await broker.routes.undeploy('flap');
});
