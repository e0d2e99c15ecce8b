import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
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
