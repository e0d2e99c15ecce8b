import type { JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, errorText } from '../api.ts';
import type { Overview, Sample } from '../api-types.ts';
import { fmtBytes, fmtDuration, fmtNum, Notice, StatCards } from '../components/common.tsx';
import { LineChart } from '../components/line-chart.tsx';
import { useEvent } from '../events.ts';

/** Samples kept for the charts: five minutes of the once-a-second sampler. */
const WINDOW = 300;

/** Version, uptime, totals and alarms, with throughput and connection charts (history, then live `stats` events). */
export function OverviewView(): JSX.Element {
  const [overview, setOverview] = useState<Overview | undefined>(undefined);
  const [samples, setSamples] = useState<Sample[]>([]);
  const [error, setError] = useState<string | undefined>(undefined);

  useEffect(() => {
    api<Overview>('GET', '/overview').then(setOverview, (e: unknown) => setError(errorText(e)));
    api<{ samples: Sample[] }>('GET', `/overview/history?seconds=${WINDOW}`).then(
      (h) => setSamples((live) => merge(h.samples, live)),
      (e: unknown) => setError(errorText(e)),
    );
  }, []);

  useEvent<Sample>('stats', (s) => setSamples((prev) => merge(prev, [s])));

  const latest = samples[samples.length - 1];
  const totals = latest?.totals ?? overview?.totals;
  const alarms = latest?.alarms ?? overview?.alarms ?? [];
  const memory = latest?.memory ?? overview?.memory;
  const uptime = overview === undefined ? undefined : ((latest?.at ?? Date.now()) - Date.parse(overview.startedAt)) / 1000;
  const times = samples.map((s) => s.at);
  const protocols = [...new Set(samples.flatMap((s) => Object.keys(s.connections)))].sort();
  const conns = latest === undefined ? undefined : Object.values(latest.connections).reduce((a, b) => a + b, 0);

  return (
    <section aria-labelledby="overview-title">
      <h1 id="overview-title">Overview</h1>
      <Notice error={error} />
      <StatCards
        items={[
          ['Version', overview?.version ?? '-'],
          ['Uptime', uptime === undefined ? '-' : fmtDuration(uptime)],
          ['Messages', fmtNum(totals?.messages)],
          ['Queues', fmtNum(totals?.queues)],
          ['Topics', fmtNum(totals?.topics)],
          ['Consumers', fmtNum(totals?.consumers)],
          ['Connections', fmtNum(conns)],
          ['Enqueued', fmtNum(totals?.enqueued)],
          ['Acknowledged', fmtNum(totals?.acked)],
          ['Dead-lettered', fmtNum(totals?.deadLettered)],
          ['Memory', memory === undefined ? '-' : `${fmtBytes(memory.usedBytes)}${memory.limitBytes > 0 ? ` of ${fmtBytes(memory.limitBytes)}` : ''}`],
        ]}
      />
      <section aria-labelledby="alarms-title" class="alarms">
        <h2 id="alarms-title">Alarms</h2>
        {alarms.length === 0 ? (
          <p class="muted">None.</p>
        ) : (
          <ul>
            {alarms.map((a) => (
              <li key={a.code} class="alarm">
                <strong>{a.code}</strong> {a.message}
              </li>
            ))}
          </ul>
        )}
      </section>
      <div class="charts">
        <LineChart
          title="Throughput"
          unit="msg/s"
          times={times}
          series={[
            { name: 'sent', cls: 's1', values: samples.map((s) => s.rates.sent) },
            { name: 'acked', cls: 's2', values: samples.map((s) => s.rates.acked) },
          ]}
        />
        <LineChart
          title="Connections"
          unit="open"
          integer
          times={times}
          series={protocols.map((p, i) => ({ name: p, cls: `s${(i % 4) + 1}`, values: samples.map((s) => s.connections[p] ?? 0) }))}
        />
      </div>
    </section>
  );
}

/** Samples in time order without duplicates, the last WINDOW of them. */
function merge(a: readonly Sample[], b: readonly Sample[]): Sample[] {
  const byAt = new Map<number, Sample>();
  for (const s of a) byAt.set(s.at, s);
  for (const s of b) byAt.set(s.at, s);
  return [...byAt.values()].sort((x, y) => x.at - y.at).slice(-WINDOW);
}
