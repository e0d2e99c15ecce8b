/**
 * A flaky step with redelivery and a dead-letter channel, then replay of the dead-letter queue.
 *
 * The payments route calls a (simulated) payment gateway: some calls fail once and succeed on
 * redelivery; large payments fail every time while the gateway's limit is low, so after three
 * attempts they are dead-lettered with the reason. The "operator" then raises the limit and
 * deploys a replay route that moves the dead letters back to the input, where they now succeed.
 *
 * Run from the project root: node --import tsx examples/dead-letter-replay/main.ts
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { createBroker, route } from '../../src/index.ts';

const PAYMENTS = [120, 80, 2500, 40, 60, 1800, 95, 30];
const gateway = { limit: 1000, calls: 0, flakyOnce: new Set<number>([2, 5]) };

/** The simulated gateway: a transient failure the first time for some ids, a hard one over the limit. */
function charge(id: number, amount: number): void {
  gateway.calls++;
  if (gateway.flakyOnce.delete(id)) throw new Error('gateway timeout');
  if (amount > gateway.limit) throw new Error(`amount ${amount} over the gateway limit ${gateway.limit}`);
}

const dataDir = await mkdtemp(path.join(tmpdir(), 'junction-dlq-'));
const broker = await createBroker(
  { dataDir, routesDir: path.join(dataDir, 'routes'), ports: { stomp: 0, ws: 0, mqtt: 0, amqp: 0, http: 0 } },
  { logger: pino({ level: process.env.LOG_LEVEL ?? 'error' }) },
);

await broker.routes.deploy(
  route('payments')
    .from('queue:payments.in')
    .errorHandler({ deadLetter: 'queue:payments.DLQ', maxRedeliveries: 2, redeliveryDelay: 50, backoffMultiplier: 2 })
    .process((ex) => {
      const p = ex.body() as { id: number; amount: number };
      charge(p.id, p.amount);
    })
    .setHeader('charged', true)
    .to('queue:payments.done'),
);

const send = (id: number, amount: number) =>
  broker.core.send({ destination: { type: 'queue', name: 'payments.in' }, body: Buffer.from(JSON.stringify({ id, amount })), bodyType: 'json', durable: true });
const count = (q: string) => broker.core.queueStats().find((s) => s.name === q)?.messages ?? 0;
const until = async (check: () => boolean) => {
  while (!check()) await new Promise((r) => setTimeout(r, 10));
};

for (const [i, amount] of PAYMENTS.entries()) await send(i + 1, amount);
await until(() => count('payments.done') + count('payments.DLQ') === PAYMENTS.length);
let s = broker.routes.stats('payments');
console.log(`first pass: ${count('payments.done')} charged, ${count('payments.DLQ')} dead-lettered, ${s.redeliveries} redeliveries`);
for (const m of broker.core.browse('payments.DLQ')) {
  console.log(`  DLQ ${m.body.toString()}: ${m.properties.junctionRouteError} (step ${m.properties.junctionRouteStep}, ${m.properties.junctionRouteAttempts} attempts)`);
}

// The fix, then the replay: a route that moves the dead letters back to the input, without the failure headers.
gateway.limit = 10_000;
await broker.routes.deploy({
  id: 'payments-replay',
  from: 'queue:payments.DLQ',
  steps: [
    ...['junctionRouteId', 'junctionRouteStep', 'junctionRouteError', 'junctionRouteAttempts', 'junctionRouteFrom', 'dlqDeliveryFailureCause'].map((h) => ({ removeHeader: h })),
    { setHeader: { name: 'replayed', value: true } },
    { to: 'queue:payments.in' },
  ],
});
await until(() => count('payments.done') === PAYMENTS.length && count('payments.DLQ') === 0);
await broker.routes.undeploy('payments-replay');
s = broker.routes.stats('payments');
const replayed = broker.core.browse('payments.done').filter((m) => m.properties.replayed === true).length;
console.log(`after replay: ${count('payments.done')} charged (${replayed} replayed), ${count('payments.DLQ')} dead-lettered; route: completed ${s.completed}, dead-lettered ${s.deadLettered}`);
await broker.close();
await rm(dataDir, { recursive: true, force: true });
