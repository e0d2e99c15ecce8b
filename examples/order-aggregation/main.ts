/**
 * Orders split into lines and re-aggregated per order: the route `routes/order-totals.route.json`
 * splits each order, prices every line, taps the lines to `queue:order-lines`, and aggregates the
 * lines of an order back into one total. The order is acknowledged only once its total is stored.
 *
 * Run from the project root: node --import tsx examples/order-aggregation/main.ts
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client, type IMessage } from '@stomp/stompjs';
import pino from 'pino';
import WebSocket from 'ws';
import { createBroker } from '../../src/index.ts';

const ORDERS = [
  { id: 'A-100', customer: 'acme', lines: [{ sku: 'bolt', qty: 100, price: 0.25 }, { sku: 'nut', qty: 100, price: 0.1 }, { sku: 'washer', qty: 200, price: 0.05 }] },
  { id: 'A-101', customer: 'globex', lines: [{ sku: 'gear', qty: 2, price: 12.5 }] },
  { id: 'A-102', customer: 'acme', lines: [{ sku: 'spring', qty: 10, price: 1.2 }, { sku: 'bolt', qty: 20, price: 0.25 }] },
];

const dataDir = await mkdtemp(path.join(tmpdir(), 'junction-orders-'));
const broker = await createBroker(
  { dataDir, routesDir: path.join(import.meta.dirname, 'routes'), ports: { stomp: 0, ws: 0, mqtt: 0, amqp: 0, http: 0 } },
  { logger: pino({ level: process.env.LOG_LEVEL ?? 'warn' }) },
);
console.log(`routes: ${broker.routes.list().map((r) => `${r.id} (${r.state})`).join(', ')}`);

const stomp = new Client({ webSocketFactory: () => new WebSocket(`ws://127.0.0.1:${broker.ports.ws}`, ['v12.stomp']), heartbeatIncoming: 0, heartbeatOutgoing: 0, reconnectDelay: 0 });
const totals: Array<{ order: string; customer: string; lines: number; total: number }> = [];
let lines = 0;
const done = new Promise<void>((resolve) => {
  stomp.onConnect = () => {
    stomp.subscribe('/queue/order-lines', () => lines++);
    stomp.subscribe('/queue/order-totals', (m: IMessage) => {
      const t = JSON.parse(m.body) as (typeof totals)[number];
      totals.push(t);
      console.log(`order ${t.order} (${t.customer}): ${t.lines} line(s), total ${t.total.toFixed(2)}`);
      if (totals.length === ORDERS.length) resolve();
    });
    for (const o of ORDERS) stomp.publish({ destination: '/queue/orders', body: JSON.stringify(o), headers: { persistent: 'true' } });
  };
});
stomp.activate();
await done;
// The orders' acknowledgements are stored just after their totals: wait for the queue to empty.
const ordersLeft = () => broker.core.queueStats().find((q) => q.name === 'orders')?.messages ?? 0;
while (ordersLeft() > 0) await new Promise((r) => setTimeout(r, 10));
console.log(`lines tapped: ${lines}; orders acknowledged: ${broker.routes.stats('order-totals').completed}; left in queue orders: ${ordersLeft()}`);
await stomp.deactivate();
await broker.close();
await rm(dataDir, { recursive: true, force: true });
