/**
 * Prints the MQTT benchmark's tables: the conditions, the numbers with the ratios of Junction to
 * every other broker, the CPU share of broker and load during each throughput window, and each row
 * against the MQTT issue's aims (measurement only: a missed aim is printed, never asserted).
 *
 * Aims (issue 4): every throughput figure at no less than 0.80x of bare aedes and ahead of
 * ActiveMQ Classic (the persistent-session fan-in at 10x ActiveMQ or more); memory per idle
 * connection within 1.25x of bare aedes. Latency has no aim.
 */
export interface Measured {
  rate: number;
  /** % of one core during the measured window: the broker's process (all threads) and the bench's. */
  brokerCpu: number;
  loadCpu: number;
  /** Everything else the machine was busy with in the window. */
  otherCpu: number;
}

export interface Row {
  label: string;
  unit: string;
  kind: 'throughput' | 'persistent' | 'latency' | 'memory';
  values: Map<string, number>;
  cpu?: Map<string, Measured>;
  /** Memory row: the JVM's heap growth per connection after a full GC. */
  notes: Map<string, number | undefined>;
}

export interface Conditions {
  cpus: number;
  cpuModel: string;
  loadBefore: number;
  loadAfter: number;
  seconds: number;
  warmup: number;
  leadInMs: number;
  window: number;
  publishers: number;
  fanout: number;
  idle: number;
  idleWarmup: number;
  rate: number;
}

export interface Report {
  targets: Array<{ name: string; about: string }>;
  rows: Row[];
  skipped: string[];
  failed: Map<string, string>;
  conditions: Conditions;
}

const AEDES = 'bare aedes';
const ACTIVEMQ = 'ActiveMQ Classic';

function fmt(v: number | undefined): string {
  if (v === undefined || Number.isNaN(v)) return '-';
  return Math.abs(v) >= 100 ? Math.round(v).toLocaleString('en') : v.toFixed(2);
}

function table(header: string[], lines: string[][], leftColumns: number): void {
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i < leftColumns ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  console.log(line(header));
  for (const l of lines) console.log(line(l));
}

/** `of`'s value over `ref`'s on this row (default: Junction's over `ref`'s), or undefined when either is missing. */
function ratio(r: Row, ref: string, of = 'Junction'): number | undefined {
  const j = r.values.get(of);
  const v = r.values.get(ref);
  return j === undefined || v === undefined || v === 0 || Number.isNaN(j) || Number.isNaN(v) ? undefined : j / v;
}

const fmtRatio = (x: number | undefined) => (x === undefined ? '-' : `${x.toFixed(2)}x`);

/** "yes (0.85x, aim >= 0.80x)" / "no (...)", or "n/a" when the reference was not measured. */
function aim(r: Row, ref: string, op: '>=' | '>' | '<=', bound: number): string {
  const x = ratio(r, ref);
  if (x === undefined) return 'n/a';
  const met = op === '>=' ? x >= bound : op === '>' ? x > bound : x <= bound;
  return `${met ? 'yes' : 'no'} (${x.toFixed(2)}x, aim ${op} ${bound}x)`;
}

export function printReport(rep: Report): void {
  const c = rep.conditions;
  const names = rep.targets.map((t) => t.name);
  // Junction's own variants (`Junction+auth`: security on; `Junction+TLS`) are compared with Junction
  // (variant / Junction); the other brokers are references (Junction / reference).
  const variants = names.filter((n) => n.startsWith('Junction+'));
  const refs = names.filter((n) => !n.startsWith('Junction'));
  console.log('MQTT benchmark (MQTT 3.1.1; every broker on loopback in a process of its own; MQTT.js load: all clients in the bench process)');
  console.log(`Conditions: ${c.cpus} CPUs (${c.cpuModel}) shared by the load and the broker; load average (1 min) ${c.loadBefore.toFixed(2)} before, ${c.loadAfter.toFixed(2)} after.`);
  console.log(
    `  Throughput: ${c.warmup > 0 ? `a ${c.warmup} s unmeasured warm-up of each throughput workload per broker, then ` : ''}each workload ${c.leadInMs} ms lead-in + ${c.seconds} s measured; ` +
      `256-byte payloads; ${c.window} publishes outstanding per publisher (QoS 0: unwritten, QoS 1: un-PUBACKed); fan-in ${c.publishers} -> 1, fan-out 1 -> ${c.fanout}.`,
  );
  console.log(`  Latency: QoS 1 at ${c.rate} msg/s for ${c.seconds} s. Idle memory: ${c.idleWarmup} warm-up connections, then ${c.idle} in 10 steps, full GC + settled RSS at each; Theil-Sen slope.`);
  for (const t of rep.targets) console.log(`  ${t.name}: ${t.about}`);
  console.log('');

  const header = ['workload', 'unit', ...names, ...variants.map((v) => `${v} / Junction`), ...refs.map((r) => `Junction / ${r}`)];
  table(
    header,
    rep.rows.map((r) => [
      r.label,
      r.unit,
      ...names.map((n) => fmt(r.values.get(n))),
      ...variants.map((v) => fmtRatio(ratio(r, 'Junction', v))),
      ...refs.map((n) => fmtRatio(ratio(r, n))),
    ]),
    2,
  );
  console.log('Ratios: throughput higher is better; latency and memory lower is better.');
  for (const r of rep.rows) {
    for (const [name, heap] of r.notes) {
      if (heap !== undefined) console.log(`${name}: heap in use after a full GC grew ${heap.toFixed(1)} KiB per idle connection (its RSS row: thread stacks, socket buffers and newly touched heap pages).`);
    }
  }

  console.log('');
  console.log(`CPU during each measured window, % of one core (${c.cpus} CPUs = ${c.cpus * 100}): broker / load (this process; near 100 = the load may be the limit) / rest of the machine`);
  const tp = rep.rows.filter((r) => r.kind === 'throughput' || r.kind === 'persistent');
  table(
    ['workload', ...names],
    tp.map((r) => [
      r.label,
      ...names.map((n) => {
        const m = r.cpu?.get(n);
        return m ? `${Math.round(m.brokerCpu)} / ${Math.round(m.loadCpu)} / ${Math.round(m.otherCpu)}` : '-';
      }),
    ]),
    1,
  );

  console.log('');
  console.log('Aims of issue 4 (measurement only): throughput >= 0.80x bare aedes and > 1x ActiveMQ Classic (persistent session: >= 10x); memory <= 1.25x bare aedes');
  table(
    ['workload', 'aim met? vs bare aedes', 'aim met? vs ActiveMQ Classic'],
    rep.rows
      .filter((r) => r.kind !== 'latency')
      .map((r) => {
        if (r.kind === 'memory') return [r.label, aim(r, AEDES, '<=', 1.25), '(no aim)'];
        return [r.label, aim(r, AEDES, '>=', 0.8), r.kind === 'persistent' ? aim(r, ACTIVEMQ, '>=', 10) : aim(r, ACTIVEMQ, '>', 1)];
      }),
    1,
  );
  console.log('Latency has no aim; "n/a": that broker was not measured in this run.');
  for (const s of rep.skipped) console.log(`skipped: ${s}`);
  for (const [name, why] of rep.failed) console.log(`failed: ${name}: ${why} (its rows are incomplete)`);
}
