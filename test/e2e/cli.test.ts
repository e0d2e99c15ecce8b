import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';

const bin = path.resolve(import.meta.dirname, '../../bin/junction.js');
// No test may depend on a default port being free (.ci/run holds them all while the tests run):
// every start names port 0 for every listener, the STOMP one first.
const ANY_PORT_FLAGS = ['--stomp-port', '0', '--mqtt-port', '0', '--amqp-port', '0', '--ws-port', '0', '--http-port', '0'];
const ANY_PORT_ENV = { JUNCTION_STOMP_PORT: '0', JUNCTION_MQTT_PORT: '0', JUNCTION_AMQP_PORT: '0', JUNCTION_WS_PORT: '0', JUNCTION_HTTP_PORT: '0' };
let dir: string;

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'junction-cli-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function run(args: string[], env: NodeJS.ProcessEnv = {}) {
  const child = spawn(process.execPath, [bin, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  return { child, output: () => out, exited };
}

/** Resolves once the log says the broker started (the ports file is written right after). */
function started(child: ChildProcess, output: () => string): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = () => {
      if (!/"broker started"/.test(output())) return;
      child.stdout?.off('data', check);
      child.off('exit', fail);
      resolve();
    };
    const fail = () => reject(new Error(`broker exited before starting:\n${output()}`));
    child.stdout?.on('data', check);
    child.once('exit', fail);
    check();
  });
}

function stompConnect(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => s.write('CONNECT\naccept-version:1.2\nhost:localhost\n\n\0'));
    let buf = '';
    s.on('data', (d) => {
      buf += d;
      if (buf.includes('\0')) {
        s.destroy();
        resolve(buf.split('\n')[0]!);
      }
    });
    s.on('error', reject);
  });
}

test('start on port 0 writes ports.json, serves STOMP, and stops on SIGTERM with exit 0', async () => {
  const dataDir = path.join(dir, 'a');
  const { child, output, exited } = run(['start', '--data-dir', dataDir, ...ANY_PORT_FLAGS]);
  await started(child, output);
  const ports = JSON.parse(await readFile(path.join(dataDir, 'ports.json'), 'utf8')) as { stomp: number; ws: number };
  assert.ok(ports.stomp > 0 && ports.ws > 0);
  assert.equal(await stompConnect(ports.stomp), 'CONNECTED');
  child.kill('SIGTERM');
  const [code] = await exited;
  assert.equal(code, 0);
  assert.match(output(), /"broker stopped"/);
});

test('JUNCTION_* environment variables configure the broker', async () => {
  const dataDir = path.join(dir, 'b');
  // Every port, also those this test does not use: the defaults may be taken (a Mosquitto on 1883).
  const { child, output, exited } = run(['start'], { JUNCTION_DATA_DIR: dataDir, ...ANY_PORT_ENV });
  await started(child, output);
  const ports = JSON.parse(await readFile(path.join(dataDir, 'ports.json'), 'utf8')) as { stomp: number };
  assert.notEqual(ports.stomp, 61613);
  child.kill('SIGINT');
  assert.equal((await exited)[0], 0);
});

test('a config file with a mistyped field stops the start with a message naming it', async () => {
  const file = path.join(dir, 'bad.json');
  await writeFile(file, JSON.stringify({ ports: { stomp: 0, ws: 0, mqtt: 0, amqp: 0, http: 0 }, stomp: { maxBodyByte: 10 } }));
  const { output, exited } = run(['start', '--config', file, '--data-dir', path.join(dir, 'c')]);
  const [code] = await exited;
  assert.equal(code, 2);
  assert.match(output(), /maxBodyByte/);
});

test('a bad port flag is rejected with a clear message', async () => {
  const { output, exited } = run(['start', '--stomp-port', 'abc', ...ANY_PORT_FLAGS.slice(2), '--data-dir', path.join(dir, 'd')]);
  assert.equal((await exited)[0], 2);
  assert.match(output(), /--stomp-port must be a port number/);
});

test('a port already in use fails the start with the address in the message', async () => {
  const blocker = net.createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
  const busy = (blocker.address() as net.AddressInfo).port;
  try {
    const { output, exited } = run(['start', '--stomp-port', String(busy), ...ANY_PORT_FLAGS.slice(2), '--data-dir', path.join(dir, 'e')]);
    assert.notEqual((await exited)[0], 0);
    assert.match(output(), new RegExp(`127\\.0\\.0\\.1:${busy}`));
  } finally {
    blocker.close();
  }
});

// Issue 12 item 18: every bad flag or unusable data dir is one `junction: ...` line and exit 2.

/** Runs the CLI to its exit; returns its exit code and stderr. */
async function runToExit(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [bin, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  // A start that wrongly succeeds would run for ever: stop it, so the test fails on its assertion.
  const guard = setTimeout(() => child.kill('SIGTERM'), 20_000);
  const [code] = (await once(child, 'exit')) as [number | null];
  clearTimeout(guard);
  return { code, stderr };
}

/** Exit 2 and exactly one line on stderr, `junction: ` then text matching `what`, and no stack trace. */
function assertOneLine(r: { code: number | null; stderr: string }, what: RegExp): void {
  assert.equal(r.code, 2, r.stderr);
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  assert.equal(lines.length, 1, `expected one line on stderr, got:\n${r.stderr}`);
  assert.match(lines[0]!, /^junction: /);
  assert.match(lines[0]!, what);
}

const ZERO_PORTS = ['--stomp-port', '0', '--mqtt-port', '0', '--amqp-port', '0', '--ws-port', '0', '--http-port', '0'];

test('a port flag out of range (--stomp-port 70000) is one junction: line and exit 2', async () => {
  assertOneLine(await runToExit(['start', '--stomp-port', '70000', '--data-dir', path.join(dir, 'f1')]), /--stomp-port must be a port number \(0-65535\), got '70000'/);
});

test('a data dir that is a file is one junction: line and exit 2', async () => {
  const file = path.join(dir, 'a-file');
  await writeFile(file, 'not a directory');
  assertOneLine(await runToExit(['start', '--data-dir', file, ...ZERO_PORTS]), new RegExp(`data dir ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} cannot be used: .*not a directory`));
});

test('an unknown flag is one junction: line and exit 2', async () => {
  assertOneLine(await runToExit(['start', '--stomp-prot', '0', '--data-dir', path.join(dir, 'f2')]), /Unknown option '--stomp-prot'/);
});

test('a missing config file is one junction: line and exit 2', async () => {
  assertOneLine(await runToExit(['start', '--config', path.join(dir, 'no-such.json'), '--data-dir', path.join(dir, 'f3')]), /Cannot read config file .*no-such\.json/);
});

test('a config file that is not JSON, or not a valid config, is one junction: line and exit 2', async () => {
  const notJson = path.join(dir, 'not-json.json');
  await writeFile(notJson, '{ "ports": ');
  assertOneLine(await runToExit(['start', '--config', notJson, '--data-dir', path.join(dir, 'f4')]), /is not valid JSON/);
  const invalid = path.join(dir, 'invalid.json');
  await writeFile(invalid, JSON.stringify({ ports: { stomp: 'x' }, logLevel: 'loud' }));
  assertOneLine(await runToExit(['start', '--config', invalid, '--data-dir', path.join(dir, 'f5')]), /Invalid config .*logLevel.*ports\.stomp/);
});

test('a bad --log-format value is one junction: line and exit 2', async () => {
  assertOneLine(await runToExit(['start', '--log-format', 'xml', '--data-dir', path.join(dir, 'f6'), ...ZERO_PORTS]), /logFormat/);
});

test('a data dir whose contents cannot be used (journal a file, lock a directory) is one junction: line and exit 2', async () => {
  // Realistic cousin: a journal left owned by root by a `sudo junction start`, then EACCES for the user.
  const journalFile = path.join(dir, 'journal-file');
  await mkdir(journalFile);
  await writeFile(path.join(journalFile, 'journal'), 'not a directory');
  assertOneLine(await runToExit(['start', '--data-dir', journalFile, ...ZERO_PORTS]), /data dir .*journal-file cannot be used: .*journal/);
  const lockDir = path.join(dir, 'lock-dir');
  await mkdir(path.join(lockDir, 'lock'), { recursive: true });
  assertOneLine(await runToExit(['start', '--data-dir', lockDir, ...ZERO_PORTS]), /data dir .*lock-dir cannot be used: .*lock/);
});

// Issue 12 item 20: --log-format pretty (and JUNCTION_LOG_FORMAT) prints readable lines; JSON stays the default.

test('--log-format pretty and JUNCTION_LOG_FORMAT=pretty log readable lines, not JSON', async () => {
  for (const [args, env] of [
    [['--log-format', 'pretty'], {}],
    [[], { JUNCTION_LOG_FORMAT: 'pretty' }],
  ] as const) {
    const dataDir = path.join(dir, `pretty-${args.length}`);
    const { child, output, exited } = run(['start', '--data-dir', dataDir, ...ZERO_PORTS, ...args], env);
    await new Promise<void>((resolve, reject) => {
      const check = () => {
        if (/ INFO +broker started /.test(output())) resolve();
      };
      child.stdout.on('data', check);
      child.once('exit', () => reject(new Error(`broker exited before starting:\n${output()}`)));
    });
    child.kill('SIGTERM');
    assert.equal((await exited)[0], 0);
    const lines = output().split('\n').filter((l) => l !== '');
    assert.ok(lines.length >= 2);
    for (const l of lines) {
      assert.doesNotMatch(l, /^\{/, `a JSON line in pretty mode: ${l}`);
      assert.match(l, /^\d\d:\d\d:\d\d\.\d{3} (TRACE|DEBUG|INFO |WARN |ERROR|FATAL) /);
    }
    assert.match(output(), / INFO +broker stopped/);
  }
});
