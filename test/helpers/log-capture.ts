import { Writable } from 'node:stream';
import pino from 'pino';

/** One JSON log line as pino wrote it. */
export type LogLine = Record<string, unknown>;

export interface LogCapture {
  /** A pino logger at `level`; pass it to startBroker (`{ logger }`) or to the unit under test. */
  logger: pino.Logger;
  /** Every line the logger has written so far, parsed, in order. pino writes through a stream: a line arrives a tick after the call. */
  lines: LogLine[];
  /** Resolves with the first line that satisfies `pred`, waiting for new lines (up to `timeoutMs`); rejects naming `what`. */
  waitFor(pred: (l: LogLine) => boolean, what: string, timeoutMs?: number): Promise<LogLine>;
}

/** A logger whose JSON lines the test reads back, to check that something was logged, and logged once. */
export function captureLog(level: pino.LevelWithSilent = 'info'): LogCapture {
  const lines: LogLine[] = [];
  const waiters: Array<() => void> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n')) if (l.trim()) lines.push(JSON.parse(l) as LogLine);
      for (const w of waiters.splice(0)) w();
      cb();
    },
  });
  const waitFor = async (pred: (l: LogLine) => boolean, what: string, timeoutMs = 30_000): Promise<LogLine> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = lines.find(pred);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no log line: ${what}`);
      // Woken by the next line written, or after 200 ms to look at the deadline again.
      await new Promise<void>((r) => (waiters.push(r), setTimeout(r, 200)));
    }
  };
  return { logger: pino({ level }, sink), lines, waitFor };
}
