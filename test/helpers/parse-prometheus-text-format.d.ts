/** The package ships no types: its one export, as test/helpers/prometheus.ts uses it. */
declare module 'parse-prometheus-text-format' {
  export default function parsePrometheusTextFormat(text: string): unknown[];
}
