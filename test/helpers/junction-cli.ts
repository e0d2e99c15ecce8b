import { spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';

const BIN = path.resolve(import.meta.dirname, '../../bin/junction.js');

export interface CliRun {
  code: number | null;
  out: string;
  err: string;
}

/**
 * Runs `node bin/junction.js ARGS` to its exit, stdin closed, with the JUNCTION_* login variables
 * of the test's own environment cleared (then `env` on top): what a script sees.
 */
export async function runJunction(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { ...process.env, JUNCTION_URL: '', JUNCTION_USER: '', JUNCTION_PASSWORD: '', JUNCTION_TOKEN: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, out, err };
}
