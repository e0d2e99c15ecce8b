import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { test, type TestContext } from 'node:test';

/**
 * stomp.py (an independently written STOMP client, Debian's python3-stomp) driven by scenarios:
 * each runs in one Python process (test/e2e/python/stomp_client.py), which waits for a RECEIPT
 * after every frame, so when it exits the broker has handled everything it sent.
 */

const PYTHON = '/usr/bin/python3';
const CLIENT = path.resolve(import.meta.dirname, '../e2e/python/stomp_client.py');

/** Why these tests cannot run here, or undefined when they can. */
export const missing = await new Promise<string | undefined>((resolve) => {
  execFile(PYTHON, ['-c', 'import stomp'], { timeout: 10_000 }, (err, _out, stderr) =>
    resolve(err ? `stomp.py is not available for ${PYTHON} (apt-get install python3-stomp): ${stderr.trim().split('\n').pop() || err.message}` : undefined),
  );
});

export interface Frame {
  cmd: string;
  headers: Record<string, string>;
  body: string | null;
  body_b64: string;
}

export interface StepResult {
  step: number;
  op: string;
  conn: string;
  as: string | null;
  connected?: Record<string, string> | null;
  messages?: Frame[];
  receipts?: string[];
  missing?: string[];
  receipt?: boolean;
  error?: Frame;
}

export interface Run {
  steps: StepResult[];
  /** ERROR frames received on any connection. */
  errors: Frame[];
  /** The result of the step labelled `as`. */
  get(label: string): StepResult;
  /** The messages of the receive step labelled `as`. */
  messages(label: string): Frame[];
}

export type Step = Record<string, unknown> & { op: string };

export interface RunOptions {
  /** Called with each step's result as soon as Python prints it. */
  onStep?: (s: StepResult) => void;
  /** ERROR frames are expected (otherwise any ERROR fails the run). */
  errorsExpected?: boolean;
  /** Connect over TLS: the CA file to verify the broker with, and optionally a client certificate and key (PEM paths). */
  ssl?: { ca_certs: string; cert_file?: string; key_file?: string };
  /** The host to connect to (default 127.0.0.1; `localhost` for a certificate naming it). */
  host?: string;
}

/** One line of the client's output; a line that is not JSON fails the run, where all of stdout is parsed. */
function parseLine(line: string): StepResult | undefined {
  try {
    return JSON.parse(line) as StepResult;
  } catch {
    return undefined;
  }
}

/** Runs one scenario in a fresh Python process and checks it completed. */
export async function runPython(port: number, steps: Step[], opts: RunOptions = {}): Promise<Run> {
  const scenario = JSON.stringify({ host: opts.host ?? '127.0.0.1', port, timeout: 5, steps, ...(opts.ssl ? { ssl: opts.ssl } : {}) });
  const { code, stdout, stderr } = await new Promise<{ code: number | string; stdout: string; stderr: string }>((resolve) => {
    const child = execFile(PYTHON, [CLIENT, scenario], { timeout: 20_000, killSignal: 'SIGKILL' }, (err, out, errOut) =>
      resolve({ code: err ? ((err as { code?: number | string }).code ?? (err.killed ? 'killed (timeout)' : 1)) : 0, stdout: out, stderr: errOut }),
    );
    const { onStep } = opts;
    if (onStep) {
      let buf = '';
      child.stdout?.on('data', (d: Buffer | string) => {
        buf += d.toString();
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          const parsed = parseLine(line);
          if (parsed && parsed.op !== 'end' && parsed.op !== 'fatal') onStep(parsed);
        }
      });
    }
  });
  const lines = stdout.split('\n').filter((l) => l.trim() !== '');
  const parsed = lines.map((l) => JSON.parse(l) as StepResult & { errors?: Frame[]; failed?: string; error?: unknown });
  const fatal = parsed.find((p) => p.op === 'fatal');
  const end = parsed.find((p) => p.op === 'end');
  const context = `python exit ${code}\nstdout:\n${stdout}\nstderr:\n${stderr}`;
  assert.equal(fatal, undefined, `a scenario step failed: ${JSON.stringify(fatal)}\n${context}`);
  assert.equal(code, 0, context);
  assert.ok(end, `no end line\n${context}`);
  const errors = end.errors ?? [];
  if (!opts.errorsExpected) assert.deepEqual(errors, [], `unexpected ERROR frames\n${context}`);
  const results = parsed.filter((p) => p.op !== 'end');
  assert.equal(results.length, steps.length, `not every step reported\n${context}`);
  const get = (label: string) => {
    const r = results.find((s) => s.as === label);
    assert.ok(r, `no step labelled ${label}`);
    return r;
  };
  return { steps: results, errors, get, messages: (label) => get(label).messages ?? assert.fail(`step ${label} has no messages`) };
}

let seq = 0;
/** A destination name no other test uses. */
export function unique(prefix: string): string {
  return `e2e.py.${prefix}.${++seq}.${randomBytes(3).toString('hex')}`;
}

export const bodies = (frames: Frame[]) => frames.map((f) => f.body);

/** A test that skips (with the reason) where stomp.py is not installed. */
export function pyTest(name: string, fn: (t: TestContext) => Promise<void>, opts: { todo?: string } = {}): void {
  test(name, opts, async (t) => {
    if (missing) {
      t.skip(missing);
      return;
    }
    await fn(t);
  });
}
