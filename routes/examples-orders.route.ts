import { route } from '../src/routing/builder.ts';

/**
 * Sample TypeScript route (harmless: only queue:examples.*): an order is split into its lines,
 * each line priced by a function, and the lines aggregated back into one total per order.
 */
export default route('examples-orders')
  .from('queue:examples.orders')
  .description('Sample: orders split into lines and re-aggregated')
  .setProperty('order', { var: 'body.id' })
  .split({ var: 'body.lines' })
  .process((ex) => {
    const line = ex.body() as { sku: string; qty: number; price: number };
    ex.setBody({ ...line, total: line.qty * line.price });
  })
  .aggregate({ correlation: { var: 'properties.order' }, completionSize: { var: 'properties.splitSize' }, completionTimeout: 5000, strategy: 'collect' })
  .setBody((ex) => {
    const lines = ex.body() as Array<{ total: number }>;
    return { order: ex.properties.order, lines: lines.length, total: lines.reduce((s, l) => s + l.total, 0) };
  })
  .to('queue:examples.orders.totals');
