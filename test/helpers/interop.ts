import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { freePorts } from './ports.ts';

/*
 * ../shared/interop (real clients: stomp.py, Paho, mosquitto clients, qpid-proton, raw sockets)
 * against `node bin/junction.js start`, as a user runs it. The harness needs to be told each port, so
 * the listeners under test get ports that were free a moment ago (never a default port, never a
 * fixed one: several of these files run at once, beside other brokers on the machine); every other
 * listener binds 0.
 */

export const interopDir = path.resolve(import.meta.dirname, '../../../shared/interop');
export const interopAvailable = existsSync(path.join(interopDir, 'run.sh'));
const root = path.resolve(import.meta.dirname, '../..');

export type InteropProtocol = 'stomp' | 'mqtt' | 'amqp' | 'ws';

export interface InteropResult {
  code: number;
  output: string;
  passed: number;
  failed: number;
  skipped: number;
}

/** Runs the named cases (CASES prefixes) with the given listeners; resolves with the harness's summary. */
export async function runInterop(protocols: InteropProtocol[], cases: string, timeoutMs = 230_000): Promise<InteropResult> {
  const ports = await freePorts(protocols.length);
  const env: Record<string, string> = { BROKER: 'junction', STOMP_PORT: '', MQTT_PORT: '', AMQP_PORT: '', WS_PORT: '', OPENWIRE_PORT: '' };
  const flags = new Map<string, string>([['stomp', '0'], ['mqtt', '0'], ['amqp', '0'], ['ws', '0'], ['http', '0']]);
  protocols.forEach((p, i) => {
    env[`${p.toUpperCase()}_PORT`] = String(ports[i]);
    flags.set(p, String(ports[i]));
  });
  const flagText = [...flags].map(([p, port]) => `--${p}-port ${port}`).join(' ');
  env.BROKER_START = `exec node "${root}/bin/junction.js" start --data-dir "$DATA_DIR" --host 127.0.0.1 ${flagText}`;
  const { code, output } = await new Promise<{ code: number; output: string }>((resolve) => {
    execFile(
      'bash',
      [path.join(interopDir, 'run.sh')],
      { cwd: root, env: { ...process.env, ...env, CASES: cases }, timeout: timeoutMs },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, output: stdout + stderr }),
    );
  });
  const summary = /(\d+) passed, (\d+) failed, (\d+) skipped/.exec(output);
  return {
    code,
    output,
    passed: summary ? Number(summary[1]) : -1,
    failed: summary ? Number(summary[2]) : -1,
    skipped: summary ? Number(summary[3]) : -1,
  };
}
