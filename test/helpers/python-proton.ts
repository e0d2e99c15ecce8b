import { execFile } from 'node:child_process';

/*
 * Scenario scripts for python-qpid-proton (Debian's python3-qpid-proton, an independent AMQP 1.0
 * implementation) in test/e2e/python/: `script PORT SCENARIO JSON_ARGS`, one JSON object on stdout.
 */

export const PYTHON = '/usr/bin/python3';

/** Why the proton scenarios cannot run here (a skip reason), or undefined when they can. */
export function protonMissing(): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile(PYTHON, ['-c', 'import proton'], { timeout: 10_000 }, (err, _out, stderr) =>
      resolve(err ? `python-qpid-proton is not available for ${PYTHON} (apt-get install python3-qpid-proton): ${stderr.trim().split('\n').pop() || err.message}` : undefined),
    );
  });
}

/** Runs one scenario; resolves with its JSON output, rejects with its error (or stderr) if it failed. */
export function runProtonScenario<T>(script: string, port: number, scenario: string, args: Record<string, unknown>): Promise<T> {
  return new Promise((resolve, reject) => {
    execFile(PYTHON, [script, String(port), scenario, JSON.stringify(args)], { timeout: 30_000 }, (err, stdout, stderr) => {
      const line = stdout.trim().split('\n').pop() ?? '';
      let out: T & { error?: string };
      try {
        out = JSON.parse(line) as T & { error?: string };
      } catch {
        reject(new Error(`${scenario}: no JSON output (${err?.message ?? ''})\n${stdout}\n${stderr}`));
        return;
      }
      if (out.error || err) reject(new Error(`${scenario}: ${out.error ?? err?.message}\n${stderr}`));
      else resolve(out);
    });
  });
}
