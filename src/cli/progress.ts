import cliProgress from 'cli-progress';

/** A progress display that may be off. */
export interface Progress {
  update(done: number, total?: number): void;
  stop(): void;
}

const OFF: Progress = { update() {}, stop() {} };

/**
 * A progress bar on stderr for a long run (`producer`, `consumer`, a move job), only when stderr is
 * a terminal and the output is not `--json`: a pipe or a script sees no escape codes.
 */
export function progressBar(total: number, label: string, enabled: boolean): Progress {
  if (!enabled || !process.stderr.isTTY || total <= 0) return OFF;
  const bar = new cliProgress.SingleBar(
    { format: `${label} [{bar}] {percentage}% | {value}/{total} | {eta_formatted} left`, stream: process.stderr, hideCursor: true, clearOnComplete: true, etaBuffer: 50 },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0);
  return {
    update(done, newTotal) {
      if (newTotal !== undefined && newTotal !== bar.getTotal()) bar.setTotal(newTotal);
      bar.update(done);
    },
    stop() {
      bar.stop();
    },
  };
}
