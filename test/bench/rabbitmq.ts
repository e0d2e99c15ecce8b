/**
 * Starts and stops RabbitMQ from Debian's `rabbitmq-server` package with the `rabbitmq_amqp1_0`
 * plugin as the AMQP benchmark's reference: on loopback, with its own node name, config, Mnesia
 * and log dirs, cookie and epmd in a temp dir, on free ports, stock settings otherwise. The
 * system service is never used or touched.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { exited, freePort } from './processes.ts';

const BIN = process.env.RABBITMQ_BIN ?? '/usr/lib/rabbitmq/bin';
const NODE = 'junctionbench@localhost';

export interface RabbitMQ {
  readonly port: number;
  /** Declares a durable classic queue (AMQP 1.0 `/queue/` addresses declare transient ones); its address is `/amq/queue/NAME`. */
  declareDurableQueue(name: string): void;
  stop(): Promise<void>;
}

/** Why RabbitMQ cannot be started here, or undefined. */
export function rabbitmqMissing(): string | undefined {
  if (!existsSync(path.join(BIN, 'rabbitmq-server'))) return `rabbitmq-server not found in ${BIN} (Debian package rabbitmq-server)`;
  const found = spawnSync('sh', ['-c', 'command -v epmd'], { encoding: 'utf8' });
  if (found.status !== 0) return 'epmd (Erlang) not found on PATH';
  return undefined;
}

/** True once the port answers an AMQP 1.0 SASL header with a header. */
function amqpAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    const done = (ok: boolean) => {
      clearTimeout(timer);
      s.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), 2000);
    s.on('connect', () => s.write(Buffer.from('AMQP\x03\x01\x00\x00', 'latin1')));
    s.on('data', (d) => done(d.subarray(0, 4).toString('latin1') === 'AMQP'));
    s.on('error', () => done(false));
  });
}

function kill(child: ChildProcess, group: boolean, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(group ? -child.pid : child.pid, signal);
  } catch {
    // Already gone.
  }
}

/** Starts RabbitMQ and resolves once its AMQP port answers; rejects (after cleaning up) otherwise. */
export async function startRabbitMQ(startTimeoutMs = 90_000): Promise<RabbitMQ> {
  const dir = await mkdtemp(path.join(tmpdir(), 'junction-bench-rabbitmq-'));
  const home = path.join(dir, 'home');
  await mkdir(home, { recursive: true });
  const [port, distPort, epmdPort] = [await freePort(), await freePort(), await freePort()];
  await writeFile(path.join(dir, 'enabled_plugins'), '[rabbitmq_amqp1_0].\n');
  await writeFile(path.join(dir, 'rabbitmq.conf'), `listeners.tcp.default = 127.0.0.1:${port}\nloopback_users = none\n`);
  const env = {
    ...process.env,
    HOME: home,
    ERL_EPMD_PORT: String(epmdPort),
    RABBITMQ_NODENAME: NODE,
    RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
    RABBITMQ_NODE_PORT: String(port),
    RABBITMQ_DIST_PORT: String(distPort),
    RABBITMQ_MNESIA_BASE: path.join(dir, 'mnesia'),
    RABBITMQ_LOG_BASE: path.join(dir, 'log'),
    RABBITMQ_ENABLED_PLUGINS_FILE: path.join(dir, 'enabled_plugins'),
    RABBITMQ_CONFIG_FILE: path.join(dir, 'rabbitmq.conf'),
    RABBITMQ_PID_FILE: path.join(dir, 'rabbitmq.pid'),
  };
  // epmd of our own, in the foreground, so it goes with the bench (and never meets the system's).
  const epmd = spawn('epmd', ['-port', String(epmdPort), '-address', '127.0.0.1'], { stdio: 'ignore' });
  const server = spawn(path.join(BIN, 'rabbitmq-server'), [], { cwd: dir, env, stdio: 'ignore', detached: true });
  const onExit = () => {
    kill(server, true, 'SIGKILL');
    kill(epmd, false, 'SIGKILL');
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // A leftover temp dir is harmless.
    }
  };
  process.once('exit', onExit);
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      kill(server, true, 'SIGTERM');
      const killer = setTimeout(() => kill(server, true, 'SIGKILL'), 15_000);
      await exited(server);
      clearTimeout(killer);
      kill(epmd, false, 'SIGTERM');
      await exited(epmd);
      process.off('exit', onExit);
      await rm(dir, { recursive: true, force: true });
    })();
    return stopping;
  };
  const deadline = Date.now() + startTimeoutMs;
  while (!(await amqpAnswers(port))) {
    if (server.exitCode !== null || Date.now() > deadline) {
      const log = await readFile(path.join(dir, 'log', `${NODE}.log`), 'utf8').catch(() => '');
      await stop();
      throw new Error(`RabbitMQ did not start: ${log.split('\n').slice(-5).join(' | ')}`);
    }
    await sleep(250);
  }
  return {
    port,
    declareDurableQueue(name: string) {
      const expr = `rabbit_amqqueue:declare(rabbit_misc:r(<<"/">>, queue, <<"${name}">>), true, false, [], none, <<"bench">>).`;
      const r = spawnSync(path.join(BIN, 'rabbitmqctl'), ['-n', NODE, 'eval', expr], { env, encoding: 'utf8', timeout: 30_000 });
      if (r.status !== 0) throw new Error(`declaring ${name} failed: ${r.stderr || r.stdout}`);
    },
    stop,
  };
}
