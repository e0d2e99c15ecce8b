import type { JSX } from 'preact';

export interface Series {
  readonly name: string;
  /** A CSS class giving the line its colour (`s1`..`s4` in style.css). */
  readonly cls: string;
  readonly values: readonly number[];
}

const W = 600;
const H = 160;
const PAD = { left: 44, right: 10, top: 10, bottom: 22 };

/** A round upper bound for the y axis (1, 2, 5 x 10^n). */
function niceMax(v: number, integer: boolean): number {
  if (v <= 0) return integer ? 2 : 1;
  if (integer && v <= 2) return 2;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of integer ? [2, 4, 6, 10] : [1, 2, 5, 10]) if (v <= m * p) return m * p;
  return 10 * p;
}

/**
 * A small SVG line chart over time (`times`: epoch ms, one per value of each series): a y axis
 * from 0 to a round maximum, the time span on the x axis, a legend with each series' latest value.
 * Drawn by hand: a handful of polylines needs no chart library.
 */
export function LineChart(props: { title: string; unit: string; times: readonly number[]; series: readonly Series[]; integer?: boolean }): JSX.Element {
  const { times, series } = props;
  const n = times.length;
  // Counts (connections) keep whole-number ticks: the half-way tick needs an even maximum.
  const max = niceMax(Math.max(0, ...series.flatMap((s) => s.values)), props.integer === true);
  const t0 = n > 0 ? times[0]! : 0;
  const t1 = n > 1 ? times[n - 1]! : t0 + 1;
  const x = (t: number): number => PAD.left + ((t - t0) / Math.max(1, t1 - t0)) * (W - PAD.left - PAD.right);
  const y = (v: number): number => H - PAD.bottom - (v / max) * (H - PAD.top - PAD.bottom);
  const spanS = Math.round((t1 - t0) / 1000);
  const latest = series.map((s) => `${s.name} ${fmt(s.values[s.values.length - 1] ?? 0)}`).join(', ');
  return (
    <figure class="chart">
      <figcaption>
        <strong>{props.title}</strong>
        <span class="legend">
          {series.map((s) => (
            <span key={s.name} class={`key ${s.cls}`}>
              {s.name} <b>{fmt(s.values[s.values.length - 1] ?? 0)}</b>
            </span>
          ))}
          <span class="muted">{props.unit}</span>
        </span>
      </figcaption>
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={`${props.title}: ${n > 0 ? latest : 'no data yet'}`}>
        {[0, 0.5, 1].map((f) => (
          <g key={f}>
            <line class="grid" x1={PAD.left} x2={W - PAD.right} y1={y(max * f)} y2={y(max * f)} />
            <text class="axis" x={PAD.left - 6} y={y(max * f) + 4} text-anchor="end">
              {fmt(max * f)}
            </text>
          </g>
        ))}
        <text class="axis" x={PAD.left} y={H - 4}>
          {n > 1 ? `-${spanS}s` : ''}
        </text>
        <text class="axis" x={W - PAD.right} y={H - 4} text-anchor="end">
          now
        </text>
        {n > 1 &&
          series.map((s) => (
            <polyline key={s.name} class={`line ${s.cls}`} points={s.values.map((v, i) => `${x(times[i]!).toFixed(1)},${y(v).toFixed(1)}`).join(' ')} />
          ))}
      </svg>
    </figure>
  );
}

function fmt(v: number): string {
  if (v >= 1e6) return `${(v / 1e6).toFixed(1)}M`;
  if (v >= 1e4) return `${(v / 1e3).toFixed(0)}k`;
  return Number.isInteger(v) ? String(v) : v.toFixed(1);
}
