/**
 * Starts and stops ActiveMQ Classic from Debian's `activemq` package as the benchmarks'
 * reference: on loopback, with its own config and data dir in a temp dir, a STOMP transport
 * connector on a free port (always: it is also the readiness probe), on request an MQTT one
 * (`mqtt://`, the stock blocking TCP transport, no connection limit) on another, and KahaDB
 * persistence (stock settings: the journal syncs to disk before a persistent SEND or a QoS 1/2
 * PUBLISH is confirmed). Debian's activemq-mqtt.jar needs the fusesource MQTT codec (package
 * libmqtt-client-java: mqtt-client.jar, hawtdispatch.jar, hawtdispatch-transport.jar), which is
 * not on ActiveMQ's classpath: those jars are linked into `<base>/lib` of the temp dir, which
 * ActiveMQ's launcher scans as it scans `<home>/lib`. The approach follows
 * `../shared/interop/targets/activemq/start.sh`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { exited, freePort } from './processes.ts';

const AMQ_HOME = process.env.ACTIVEMQ_HOME ?? '/usr/share/activemq';
const JAVA = process.env.BENCH_JAVA ?? 'java';
/** Heap as the Debian package's /usr/share/activemq/activemq-options (512 MB), allowed to grow to upstream's 1 GB. */
const JAVA_OPTS = (process.env.BENCH_ACTIVEMQ_JAVA_OPTS ?? '-Xms512M -Xmx1G').split(/\s+/).filter(Boolean);
/** Where Debian puts libmqtt-client-java and its hawtdispatch/hawtbuf dependencies. */
const JAVA_SHARE = process.env.BENCH_JAVA_SHARE ?? '/usr/share/java';
/** The jars ActiveMQ's MQTT transport needs beyond `<home>/lib` (hawtbuf is already there). */
const MQTT_JARS = ['mqtt-client.jar', 'hawtdispatch.jar', 'hawtdispatch-transport.jar'];

export interface ActiveMQOptions {
  /** Adds an MQTT transport connector (and its jars): `mqttPort`. */
  mqtt?: boolean;
  /** How long the JVM may take until every connector answers (default 120 s). */
  startTimeoutMs?: number;
}

export interface ActiveMQ {
  readonly stompPort: number;
  /** The MQTT connector's port, when one was asked for. */
  readonly mqttPort: number | undefined;
  readonly pid: number;
  readonly dir: string;
  /** The JVM options it was started with. */
  readonly javaOpts: string;
  /** Resident set size of the JVM, from /proc, in bytes (undefined when unreadable). */
  rss(): number | undefined;
  /** Stops the broker (SIGTERM, then SIGKILL to its whole process tree) and removes its dir. */
  stop(): Promise<void>;
}

/** Why ActiveMQ (with the connectors `options` asks for) cannot be used here, or undefined when it looks installed. */
export function activemqMissing(options: ActiveMQOptions = {}): string | undefined {
  const jar = path.join(AMQ_HOME, 'bin', 'activemq.jar');
  if (!existsSync(jar)) return `${jar} not found (Debian package 'activemq' not installed)`;
  const java = process.env.BENCH_JAVA ?? findOnPath('java');
  if (!java) return 'java not found on PATH';
  if (options.mqtt) {
    if (!existsSync(path.join(AMQ_HOME, 'lib', 'activemq-mqtt.jar'))) return `${AMQ_HOME}/lib/activemq-mqtt.jar not found (ActiveMQ without its MQTT module)`;
    const absent = MQTT_JARS.filter((j) => !existsSync(path.join(JAVA_SHARE, j)));
    if (absent.length > 0) return `${absent.map((j) => path.join(JAVA_SHARE, j)).join(', ')} not found (Debian packages libmqtt-client-java, libhawtdispatch-java)`;
  }
  return undefined;
}

function findOnPath(cmd: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const p = path.join(dir, cmd);
    if (dir && existsSync(p)) return p;
  }
  return undefined;
}

function activemqXml(stompPort: number, mqttPort: number | undefined): string {
  return `<beans
  xmlns="http://www.springframework.org/schema/beans"
  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
  xsi:schemaLocation="http://www.springframework.org/schema/beans http://www.springframework.org/schema/beans/spring-beans-2.0.xsd
  http://activemq.apache.org/schema/core http://activemq.apache.org/schema/core/activemq-core.xsd">

  <bean class="org.springframework.beans.factory.config.PropertyPlaceholderConfigurer"/>

  <!-- Junction benchmark reference: stock broker settings apart from JMX (off) and the paths. -->
  <broker xmlns="http://activemq.apache.org/schema/core"
          brokerName="bench"
          useJmx="false"
          persistent="true"
          dataDirectory="\${bench.data}">

    <persistenceAdapter>
      <kahaDB directory="\${bench.data}/kahadb"/>
    </persistenceAdapter>

    <systemUsage>
      <systemUsage>
        <memoryUsage><memoryUsage percentOfJvmHeap="70"/></memoryUsage>
        <storeUsage><storeUsage limit="4 gb"/></storeUsage>
        <tempUsage><tempUsage limit="1 gb"/></tempUsage>
      </systemUsage>
    </systemUsage>

    <transportConnectors>
      <transportConnector name="stomp" uri="stomp://127.0.0.1:${stompPort}"/>${
        mqttPort === undefined ? '' : `\n      <transportConnector name="mqtt" uri="mqtt://127.0.0.1:${mqttPort}"/>`
      }
    </transportConnectors>
  </broker>
</beans>
`;
}

const LOG4J = `log4j.rootLogger=WARN, stdout
log4j.logger.org.apache.activemq.broker.BrokerService=INFO
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=%d{HH:mm:ss,SSS} %-5p %c{1} - %m%n
`;

/** True once the port answers a STOMP CONNECT with CONNECTED. */
function stompAnswers(port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    let data = '';
    const done = (ok: boolean) => {
      clearTimeout(timer);
      s.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    s.on('connect', () => s.write('CONNECT\naccept-version:1.2\nhost:localhost\nheart-beat:0,0\n\n\0'));
    s.on('data', (chunk) => {
      data += chunk.toString('latin1');
      if (data.includes('\0')) done(data.startsWith('CONNECTED'));
    });
    s.on('error', () => done(false));
    s.on('close', () => done(false));
  });
}

/** True once the port answers an MQTT 3.1.1 CONNECT with CONNACK 0 (accepted). */
function mqttAnswers(port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    let data = Buffer.alloc(0);
    const done = (ok: boolean) => {
      clearTimeout(timer);
      s.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    const id = Buffer.from('junction-bench-probe');
    // CONNECT: protocol "MQTT" level 4, clean session, keep-alive 0, the client id above.
    const body = Buffer.concat([Buffer.from([0, 4]), Buffer.from('MQTT'), Buffer.from([4, 0x02, 0, 0, 0, id.length]), id]);
    s.on('connect', () => s.write(Buffer.concat([Buffer.from([0x10, body.length]), body])));
    s.on('data', (chunk) => {
      data = Buffer.concat([data, chunk]);
      if (data.length >= 4) done(data[0] === 0x20 && data[3] === 0);
    });
    s.on('error', () => done(false));
    s.on('close', () => done(false));
  });
}

interface ProcInfo {
  pid: number;
  ppid: number;
  pgrp: number;
}

/** Every process in /proc with its parent and process group (empty without /proc). */
function processes(): ProcInfo[] {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return []; // no /proc: the process-group signal has to do
  }
  const out: ProcInfo[] = [];
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'latin1');
      // After the parenthesised command name (which may contain spaces): state ppid pgrp ...
      const [, ppid, pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.push({ pid: Number(e), ppid: Number(ppid), pgrp: Number(pgrp) });
    } catch {
      // The process exited while we looked: nothing to kill.
    }
  }
  return out;
}

/**
 * The members of `root`'s process group and, while `root` is alive (its pid cannot have been
 * reused), its descendants; `root` excluded.
 */
function treeOf(root: number, rootAlive: boolean): number[] {
  const procs = processes();
  const found = new Set<number>(procs.filter((p) => p.pgrp === root && p.pid !== root).map((p) => p.pid));
  const queue = rootAlive ? [root] : [];
  while (queue.length > 0) {
    const parent = queue.shift()!;
    for (const p of procs) {
      if (p.ppid === parent && !found.has(p.pid)) {
        found.add(p.pid);
        queue.push(p.pid);
      }
    }
  }
  return [...found];
}

/**
 * Signals the JVM (while it is our live child) and every process of its tree and group. The
 * JVM was spawned detached, so it leads a process group of its own that holds all it started.
 */
function killTree(child: ChildProcess, signal: NodeJS.Signals): void {
  const pid = child.pid;
  if (pid === undefined) return;
  const alive = child.exitCode === null && child.signalCode === null;
  const others = treeOf(pid, alive);
  if (alive) {
    try {
      process.kill(-pid, signal);
    } catch {
      // Group already gone.
    }
  }
  for (const p of alive ? [pid, ...others] : others) {
    try {
      process.kill(p, signal);
    } catch {
      // Already exited.
    }
  }
}

/**
 * Starts ActiveMQ and resolves once its STOMP port answers CONNECT (and its MQTT port, when asked
 * for, CONNECT with CONNACK). Rejects (after cleaning up) when it does not come up within
 * `startTimeoutMs`; the rejection carries the end of its log.
 */
export async function startActiveMQ(options: ActiveMQOptions = {}): Promise<ActiveMQ> {
  const startTimeoutMs = options.startTimeoutMs ?? 120_000;
  const dir = await mkdtemp(path.join(tmpdir(), 'junction-bench-activemq-'));
  const conf = path.join(dir, 'conf');
  await mkdir(conf, { recursive: true });
  const stompPort = await freePort();
  const mqttPort = options.mqtt ? await freePort() : undefined;
  if (options.mqtt) {
    const lib = path.join(dir, 'lib');
    await mkdir(lib);
    for (const j of MQTT_JARS) await symlink(path.join(JAVA_SHARE, j), path.join(lib, j));
  }
  await writeFile(path.join(conf, 'activemq.xml'), activemqXml(stompPort, mqttPort));
  await writeFile(path.join(conf, 'log4j.properties'), LOG4J);
  const logFile = path.join(dir, 'activemq.log');
  const logFd = openSync(logFile, 'a');

  const child = spawn(
    JAVA,
    [
      ...JAVA_OPTS,
      '--add-opens', 'java.base/java.lang=ALL-UNNAMED',
      '--add-opens', 'java.base/java.util=ALL-UNNAMED',
      '--add-opens', 'java.base/java.util.concurrent=ALL-UNNAMED',
      '--add-opens', 'java.base/java.net=ALL-UNNAMED',
      '--add-opens', 'java.base/java.security=ALL-UNNAMED',
      `-Dactivemq.classpath=${conf}:${AMQ_HOME}/lib/`,
      `-Dactivemq.home=${AMQ_HOME}`,
      `-Dactivemq.base=${dir}`,
      `-Dactivemq.conf=${conf}`,
      `-Dactivemq.data=${dir}`,
      `-Dlog4j.configuration=file:${conf}/log4j.properties`,
      `-Dbench.data=${dir}`,
      '-jar', path.join(AMQ_HOME, 'bin', 'activemq.jar'),
      'start', `xbean:file:${conf}/activemq.xml`,
    ],
    { cwd: dir, stdio: ['ignore', logFd, logFd], detached: true },
  );
  closeSync(logFd);
  const pid = child.pid;
  let spawnError: Error | undefined;
  child.once('error', (err) => (spawnError = err));

  // Whatever happens to the bench, no JVM outlives it, and its dir goes too.
  const onExit = () => {
    killTree(child, 'SIGKILL');
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // Best effort on the way out: a leftover temp dir is harmless.
    }
  };
  process.once('exit', onExit);

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      if (pid !== undefined) {
        // SIGTERM lets ActiveMQ's shutdown hook close KahaDB; the tree is killed if it lingers.
        killTree(child, 'SIGTERM');
        const gone = await Promise.race([exited(child).then(() => true), sleep(15_000).then(() => false)]);
        if (!gone) killTree(child, 'SIGKILL');
        await exited(child);
        // Anything the JVM left behind in its group or tree.
        killTree(child, 'SIGKILL');
      }
      process.off('exit', onExit);
      await rm(dir, { recursive: true, force: true });
    })();
    return stopping;
  };

  const deadline = Date.now() + startTimeoutMs;
  for (;;) {
    if (spawnError || child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
      const why = spawnError
        ? `could not run ${JAVA}: ${spawnError.message}`
        : child.exitCode !== null || child.signalCode !== null
          ? `exited (${child.exitCode ?? child.signalCode}) before its ports answered`
          : `STOMP port ${stompPort}${mqttPort === undefined ? '' : ` or MQTT port ${mqttPort}`} did not answer within ${startTimeoutMs} ms`;
      const log = await readFile(logFile, 'utf8').catch(() => '');
      await stop();
      const tail = log.trim().split('\n').slice(-15).join('\n');
      throw new Error(`ActiveMQ ${why}${tail ? `\n--- end of its log ---\n${tail}` : ''}`);
    }
    if ((await stompAnswers(stompPort, 2000)) && (mqttPort === undefined || (await mqttAnswers(mqttPort, 2000)))) break;
    await sleep(250);
  }

  return {
    stompPort,
    mqttPort,
    pid: pid!,
    dir,
    javaOpts: JAVA_OPTS.join(' '),
    rss() {
      try {
        const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
        return m ? Number(m[1]) * 1024 : undefined;
      } catch {
        return undefined;
      }
    },
    stop,
  };
}
