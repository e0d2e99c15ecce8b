import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import type { IMessage } from '@stomp/stompjs';
import { BrokerProcess } from '../helpers/broker-process.ts';
import type { TestBroker } from '../helpers/broker.ts';
import { connect, eventually, type Inbox } from '../helpers/stompjs.ts';

/*
 * kill -9 with a split/aggregate route holding in-flight exchanges. Orders (persistent, confirmed
 * by receipt) are split into lines, each line delayed, and re-aggregated per order. The last
 * SLOW orders have a line delayed by a minute, so when the broker is killed (after every fast
 * order came out) they are certainly in flight: parts in the aggregator, a part in the delay,
 * the source message unacknowledged. After a restart (the route file now without the long
 * delay) every order must come out complete: lost = never; a complete aggregate twice is allowed
 * (at-least-once), a partial one never.
 */

const FAST = 120;
const SLOW = 30;
const TOTAL = FAST + SLOW;

function routeFile(slowDelay: number): string {
  return JSON.stringify({
    id: 'crash-orders',
    from: 'queue:crash.orders',
    maxInflight: 100,
    steps: [
      { setProperty: { name: 'order', value: { var: 'body.id' } } },
      { split: { by: { var: 'body.lines' } } },
      { delay: { if: [{ var: 'body.slow' }, slowDelay, 5] } },
      { aggregate: { correlation: { var: 'properties.order' }, completionSize: { var: 'properties.splitSize' }, strategy: 'collect' } },
      { setBody: { object: ['order', { var: 'properties.order' }, 'lines', { var: 'body' }] } },
      { to: 'queue:crash.done' },
    ],
  });
}

let dir: string | undefined;
let broker: BrokerProcess | undefined;
after(async () => {
  await broker?.kill();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const asBroker = (b: BrokerProcess) => ({ config: { host: b.ports.host }, ports: { stomp: b.ports.stomp } }) as unknown as TestBroker;

test('kill -9 with in-flight split/aggregate exchanges: every order comes out complete after restart', { timeout: 120_000 }, async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'junction-routes-crash-'));
  const routesDir = path.join(dir, 'routes');
  await mkdir(routesDir);
  const file = path.join(routesDir, 'crash-orders.route.json');
  await writeFile(file, routeFile(60_000));
  const args = ['--routes-dir', routesDir, '--mqtt-port', '0', '--amqp-port', '0'];
  broker = await BrokerProcess.start({ dataDir: path.join(dir, 'data'), args });

  const lineCount = (i: number) => 2 + (i % 4);
  const seen = new Map<string, number[]>(); // order -> line counts of every aggregate seen
  const record = (m: IMessage) => {
    const b = JSON.parse(m.body) as { order: string; lines: unknown[] };
    seen.set(b.order, [...(seen.get(b.order) ?? []), b.lines.length]);
    m.ack();
  };
  // Messages may arrive with the SUBSCRIBE receipt, before the handler is set: take those first.
  const take = (inbox: Inbox) => {
    for (const m of inbox.all) record(m);
    inbox.onMessage = record;
  };

  // 1. Produce every order, confirmed; consume outputs until all fast orders are out.
  const producer = await connect(asBroker(broker), { name: 'producer' });
  for (let i = 0; i < TOTAL; i++) {
    const slow = i >= FAST;
    const lines = Array.from({ length: lineCount(i) }, (_, n) => ({ sku: `s${n}`, slow: slow && n === 0 }));
    await producer.send('/queue/crash.orders', JSON.stringify({ id: `o${i}`, lines }), { persistent: 'true' });
  }
  const consumer = await connect(asBroker(broker), { name: 'consumer-1' });
  const done1 = await consumer.subscribe('/queue/crash.done', { ack: 'client-individual' });
  take(done1);
  await eventually(() => assert.ok(seen.size >= FAST, `${seen.size} of ${FAST} fast orders out`), 60_000);
  assert.equal([...seen.keys()].filter((k) => Number(k.slice(1)) >= FAST).length, 0, 'no slow order can have completed');

  // 2. kill -9 while the slow orders are in flight.
  await broker.kill();
  await producer.drop();
  await consumer.drop();

  // 3. Restart with the route's long delay gone: the slow orders are redelivered and complete.
  await writeFile(file, routeFile(5));
  broker = await broker.restart();
  const consumer2 = await connect(asBroker(broker), { name: 'consumer-2' });
  const done2 = await consumer2.subscribe('/queue/crash.done', { ack: 'client-individual' });
  take(done2);
  await eventually(() => assert.equal(seen.size, TOTAL, `${seen.size} of ${TOTAL} orders out`), 60_000);
  for (let i = 0; i < TOTAL; i++) {
    const counts = seen.get(`o${i}`)!;
    assert.ok(counts.every((c) => c === lineCount(i)), `order o${i}: aggregates of ${counts.join(', ')} lines, expected ${lineCount(i)} each`);
  }
  await consumer2.close();
  // A graceful stop and one more restart: every output was acknowledged, and no input is left to
  // be processed again (it would produce another aggregate).
  assert.equal((await broker.stop()).code, 0);
  broker = await broker.restart();
  const last = await connect(asBroker(broker), { name: 'last' });
  const leftover = await last.subscribe('/queue/crash.done');
  await leftover.expectNone(500);
  await last.close();
});
