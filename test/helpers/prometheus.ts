import parsePrometheusTextFormat from 'parse-prometheus-text-format';

/** A metric family as parse-prometheus-text-format returns it (prom2json's shape). */
export interface ParsedFamily {
  name: string;
  help: string;
  type: 'COUNTER' | 'GAUGE' | 'HISTOGRAM' | 'SUMMARY' | 'UNTYPED';
  metrics: Array<{ value?: string; labels?: Record<string, string>; buckets?: Record<string, string>; count?: string; sum?: string }>;
}

/**
 * Parses Prometheus exposition text with a real parser (parse-prometheus-text-format, a port of the
 * Python client's parser: it throws on a malformed line) into families by name; a name twice is an
 * error (a family split in two is invalid exposition).
 */
export function parseMetrics(text: string): Map<string, ParsedFamily> {
  const families = parsePrometheusTextFormat(text) as ParsedFamily[];
  const out = new Map<string, ParsedFamily>();
  for (const f of families) {
    if (out.has(f.name)) throw new Error(`metric family ${f.name} appears twice`);
    out.set(f.name, f);
  }
  return out;
}

/** The value of the series of `name` whose labels include `labels` (undefined: no such series). */
export function seriesValue(families: Map<string, ParsedFamily>, name: string, labels: Record<string, string> = {}): number | undefined {
  const m = families.get(name)?.metrics.find((s) => Object.entries(labels).every(([k, v]) => s.labels?.[k] === v));
  return m?.value === undefined ? undefined : Number(m.value);
}

/**
 * The series of a labelled histogram, read from the text itself: the parser above folds every
 * labelled histogram into one unlabelled series (its flattenMetrics keeps only `le`), so the
 * buckets, sum and count of each label set are collected here, keyed by the label set without `le`.
 */
export function histogramSeries(text: string, name: string): Map<string, { buckets: Map<string, number>; sum?: number; count?: number }> {
  const out = new Map<string, { buckets: Map<string, number>; sum?: number; count?: number }>();
  const re = new RegExp(`^${name}_(bucket|sum|count)(?:\\{(.*)\\})? (\\S+)$`);
  for (const line of text.split('\n')) {
    const m = re.exec(line);
    if (!m) continue;
    const labels = (m[2] ?? '').split(',').filter((l) => l && !l.startsWith('le='));
    const le = /le="([^"]+)"/.exec(m[2] ?? '')?.[1];
    const key = labels.join(',');
    const s = out.get(key) ?? { buckets: new Map<string, number>() };
    out.set(key, s);
    if (m[1] === 'bucket') s.buckets.set(le!, Number(m[3]));
    else if (m[1] === 'sum') s.sum = Number(m[3]);
    else s.count = Number(m[3]);
  }
  return out;
}
