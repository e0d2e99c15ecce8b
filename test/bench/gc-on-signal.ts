/**
 * Preloaded into the Node brokers the MQTT benchmark measures (with `--expose-gc`), so that the
 * idle-memory row can sample RSS after a full garbage collection instead of at whatever point V8's
 * heuristics happen to have reached: on SIGUSR2 it runs two full collections (the second frees
 * what the first only finalised) and writes `junction-bench-gc <n> done` to stderr once they are done.
 */
let count = 0;
process.on('SIGUSR2', () => {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc) {
    gc();
    gc();
  }
  process.stderr.write(`junction-bench-gc ${++count} ${gc ? 'done' : 'unavailable (--expose-gc missing)'}\n`);
});
