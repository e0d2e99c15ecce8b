import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';

const BIN = path.resolve(import.meta.dirname, '../../bin/junction.js');

/** Brokers still running; killed if the test process exits without doing it (a timeout, a crash). */
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/** The ports a started broker wrote to `<dataDir>/ports.json`. */
export interface BrokerPorts {
  host: string;
  stomp: number;
  ws: number;
  mqtt: number;
}

export interface BrokerProcessOptions {
  dataDir: string;
  /** Extra arguments after `start --data-dir DIR --stomp-port 0 --mqtt-port 0 --amqp-port 0 --ws-port 0 --http-port 0 --https-port 0` (e.g. `--config FILE`). */
  args?: string[];
  /** Added to this process's environment. */
  env?: NodeJS.ProcessEnv;
}

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/**
 * A broker running as a child process (`node bin/junction.js start`), for tests that kill it with
 * SIGKILL and start it again on the same data dir. Its stdout and stderr are kept for diagnostics.
 */
export class BrokerProcess {
  readonly child: ChildProcess;
  readonly options: BrokerProcessOptions;
  /** Resolves when the process has exited (never rejects). */
  readonly exited: Promise<ExitStatus>;
  ports: BrokerPorts = { host: '127.0.0.1', stomp: 0, ws: 0, mqtt: 0 };
  private out = '';

  private constructor(options: BrokerProcessOptions) {
    this.options = options;
    const args = [BIN, 'start', '--data-dir', options.dataDir, '--stomp-port', '0', '--mqtt-port', '0', '--amqp-port', '0', '--ws-port', '0', '--http-port', '0', '--https-port', '0', ...(options.args ?? [])];
    this.child = spawn(process.execPath, args, { env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout!.setEncoding('utf8').on('data', (d: string) => (this.out += d));
    this.child.stderr!.setEncoding('utf8').on('data', (d: string) => (this.out += d));
    live.add(this.child);
    this.exited = new Promise((resolve) => {
      const done = (status: ExitStatus) => {
        live.delete(this.child);
        resolve(status);
      };
      this.child.once('exit', (code, signal) => done({ code, signal }));
      // A failed spawn emits `error` and no `exit`.
      this.child.once('error', (err) => {
        this.out += `\nspawn failed: ${err.message}\n`;
        done({ code: null, signal: null });
      });
    });
  }

  /** Spawns the broker, waits for its `broker started` log line, then reads `ports.json`. */
  static async start(options: BrokerProcessOptions): Promise<BrokerProcess> {
    const b = new BrokerProcess(options);
    try {
      await b.started();
      b.ports = JSON.parse(await readFile(path.join(options.dataDir, 'ports.json'), 'utf8')) as BrokerPorts;
    } catch (err) {
      await b.kill();
      throw err;
    }
    return b;
  }

  /** Everything the broker wrote to stdout and stderr so far. */
  output(): string {
    return this.out;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Kills the broker with SIGKILL (no shutdown code runs) and resolves once it has exited. */
  async kill(): Promise<ExitStatus> {
    if (this.running) this.child.kill('SIGKILL');
    return this.exited;
  }

  /** Stops the broker with SIGTERM (graceful) and resolves once it has exited. */
  async stop(): Promise<ExitStatus> {
    if (this.running) this.child.kill('SIGTERM');
    return this.exited;
  }

  /** Starts a new broker process with the same options (same data dir). This one must have exited. */
  restart(): Promise<BrokerProcess> {
    if (this.running) throw new Error('restart: the broker process is still running');
    return BrokerProcess.start(this.options);
  }

  /** Resolves once stdout says the broker started (ports.json is written before that line); rejects if it exits first. */
  private started(): Promise<void> {
    const stdout = this.child.stdout!;
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!this.out.includes('"broker started"')) return;
        stdout.off('data', check);
        resolve();
      };
      stdout.on('data', check);
      // After the start this rejects a settled promise: a no-op.
      void this.exited.then(() => {
        stdout.off('data', check);
        reject(new Error(`broker exited before starting:\n${this.out}`));
      });
      check();
    });
  }
}
