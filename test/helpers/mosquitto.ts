import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { freePort, listening } from './ports.ts';

/** A real Mosquitto (Debian's `/usr/sbin/mosquitto`, in memory) on a free port, as a remote broker for `mqtt://` route endpoints. */
export interface Mosquitto {
  readonly port: number;
  stop(): void;
}

/** Starts Mosquitto on a port that was free a moment ago and waits until it listens. */
export async function startMosquitto(): Promise<Mosquitto> {
  const port = await freePort();
  const child = spawn('/usr/sbin/mosquitto', ['-p', String(port)], { stdio: 'ignore' });
  const ok = await listening(port, 10_000, () => child.exitCode === null);
  if (!ok) child.kill('SIGKILL');
  assert.ok(ok, 'mosquitto did not start listening');
  return { port, stop: () => child.kill('SIGKILL') };
}
