import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import mqtt from 'mqtt';
import type { JunctionConfigInput } from '../../src/config/schema.ts';
import { hashPassword } from '../../src/security/password-hash.ts';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { captureLog, type LogCapture } from '../helpers/log-capture.ts';
import { RawStomp } from '../helpers/raw-stomp.ts';

// Issue 14 attacked from a hostile tenant's side, over real sockets: each test is a bypass that was
// found and fixed (docs/security.md says what holds).

const PASSWORDS = { alice: 'alice-Secret-1', mallory: 'mallory-Secret-2', sensor1: 'sensor1-Secret-3' } as const;
/** Cheap scrypt parameters: the broker verifies whatever parameters the PHC string names. */
const FAST = { ln: 10, r: 8, p: 1 };

// Mosquitto's per-device pattern: each device reads and writes only under its own client id, which
// `mqttClientId: equals` binds to its user name.
const PERMISSIONS = {
  'devices.%c.>': { send: ['device'], consume: ['device'], createAddress: ['device'], createNonDurableQueue: ['device'] },
};

async function writeUsers(): Promise<{ dir: string; usersFile: string }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'security-attack-'));
  const usersFile = path.join(dir, 'users.json');
  const users: Record<string, unknown> = {};
  for (const [u, pw] of Object.entries(PASSWORDS)) users[u] = { password: await hashPassword(pw, FAST), roles: ['device'] };
  await writeFile(usersFile, JSON.stringify({ users }));
  return { dir, usersFile };
}

type SecurityInput = NonNullable<JunctionConfigInput['security']>;

/** A broker with the users of writeUsers for the enclosing describe: started before its tests, removed after. */
function brokerWith(security: Omit<SecurityInput, 'usersFile' | 'permissions'>, logger?: LogCapture['logger']): { readonly broker: TestBroker } {
  const ctx = {} as { broker: TestBroker; dir: string };
  before(async () => {
    const { dir, usersFile } = await writeUsers();
    ctx.dir = dir;
    ctx.broker = await startBroker({ security: { usersFile, permissions: PERMISSIONS, ...security } }, logger ? { logger } : {});
  });
  after(async () => {
    await ctx.broker.stop();
    await rm(ctx.dir, { recursive: true, force: true });
  });
  return ctx;
}

/** CONNECT over raw TCP; the first frame's command and `message` header. */
async function stompLogin(port: number, headers: Record<string, string>): Promise<{ c: RawStomp; answer: string }> {
  const c = await RawStomp.open(port);
  c.send('CONNECT', { 'accept-version': '1.2', host: 'localhost', ...headers });
  const f = await c.nextFrame();
  return { c, answer: f.command === 'CONNECTED' ? 'CONNECTED' : `${f.command} ${f.header('message') ?? ''}` };
}

describe('security attacks: a hostile tenant', () => {
  let broker: TestBroker;
  let log: LogCapture;
  let dir: string;
  const stompPort = () => broker.ports.stomp!;

  before(async () => {
    log = captureLog('debug');
    const { dir: d, usersFile } = await writeUsers();
    dir = d;
    broker = await startBroker(
      { security: { usersFile, permissions: PERMISSIONS, mqttClientId: 'equals', maxFailedLoginsPerAddress: 4, maxFailedLoginsPerUser: 100 } },
      { logger: log.logger },
    );
  });
  after(async () => {
    await broker.stop();
    await rm(dir, { recursive: true, force: true });
    for (const [user, pw] of Object.entries(PASSWORDS)) {
      assert.deepEqual(log.lines.filter((l) => JSON.stringify(l).includes(pw)), [], `${user}'s password never reaches a log line`);
    }
  });

  test("STOMP client-id naming another device does not reach its %c topics (mqttClientId: equals); the device's own id does", async () => {
    const { c: mallory, answer } = await stompLogin(stompPort(), { login: 'mallory', passcode: PASSWORDS.mallory, 'client-id': 'sensor1' });
    assert.equal(answer, 'CONNECTED', 'STOMP still accepts any client-id (durable subscriptions)');
    await assert.rejects(mallory.request('SUBSCRIBE', { destination: '/topic/devices.sensor1.cmd', id: '1' }), /Not authorized/);
    await assert.rejects(mallory.request('SEND', { destination: '/topic/devices.sensor1.data' }, 'forged'), /Not authorized/);
    mallory.destroy();

    // The real sensor1 over MQTT (client id = user name) reads its own topic; over STOMP with its own id too.
    const dev = mqtt.connect(`mqtt://127.0.0.1:${broker.ports.mqtt}`, { clientId: 'sensor1', username: 'sensor1', password: PASSWORDS.sensor1, reconnectPeriod: 0 });
    try {
      await new Promise<void>((resolve, reject) => dev.once('connect', () => resolve()).once('error', reject));
      const granted = await dev.subscribeAsync('devices/sensor1/cmd', { qos: 1 });
      assert.equal(granted[0]!.qos, 1);
      const got = new Promise<string>((resolve) => dev.once('message', (_t, p) => resolve(p.toString())));
      const { c: own, answer: ownAnswer } = await stompLogin(stompPort(), { login: 'sensor1', passcode: PASSWORDS.sensor1, 'client-id': 'sensor1' });
      assert.equal(ownAnswer, 'CONNECTED');
      await own.request('SEND', { destination: '/topic/devices.sensor1.cmd' }, 'from its own STOMP client');
      assert.equal(await got, 'from its own STOMP client');
      own.destroy();
    } finally {
      await dev.endAsync(true);
    }
  });
});

describe('security attacks: failed logins from one host, each on a new connection', () => {
  // Per user the cap is out of reach: only the per-address throttle is under test.
  const b = brokerWith({ maxFailedLoginsPerAddress: 4, maxFailedLoginsPerUser: 1000 });

  test('STOMP then MQTT: the address is locked after 4 failures whatever source port each connection used', async () => {
    const answers: string[] = [];
    for (let i = 0; i < 3; i++) {
      const { c, answer } = await stompLogin(b.broker.ports.stomp!, { login: 'alice', passcode: `guess-${i}` });
      answers.push(answer);
      c.destroy();
    }
    // The fourth failure, over MQTT (the throttle is the broker's, not a protocol's).
    const guess = mqtt.connect(`mqtt://127.0.0.1:${b.broker.ports.mqtt}`, { clientId: 'g', username: 'alice', password: 'guess-3', reconnectPeriod: 0 });
    const refused = await new Promise<Error>((resolve) => guess.once('error', resolve));
    answers.push(String((refused as Error & { code?: number }).code));
    guess.end(true);
    const { c, answer } = await stompLogin(b.broker.ports.stomp!, { login: 'mallory', passcode: PASSWORDS.mallory });
    answers.push(answer);
    c.destroy();
    // MQTT answers a throttled login as a wrong password (0x04): the right password tells it apart.
    const right = mqtt.connect(`mqtt://127.0.0.1:${b.broker.ports.mqtt}`, { clientId: 's', username: 'sensor1', password: PASSWORDS.sensor1, reconnectPeriod: 0 });
    const throttled = await new Promise<Error>((resolve) => right.once('error', resolve).once('connect', () => resolve(new Error('connected'))));
    answers.push(String((throttled as Error & { code?: number }).code ?? throttled.message));
    right.end(true);
    assert.deepEqual(answers, [
      'ERROR Authentication failed', 'ERROR Authentication failed', 'ERROR Authentication failed', '4',
      'ERROR Too many failed logins, try later', '4',
    ]);
  });
});

describe('security attacks: login throttling', () => {
  // Per user the cap is out of reach: only the per-address throttle is under test.
  const b = brokerWith({ maxFailedLoginsPerAddress: 4, maxFailedLoginsPerUser: 1000 });

  test("a tenant's own good logins between guesses do not reset its address's failed-login count", async () => {
    const answers: string[] = [];
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 2; i++) {
        const { c, answer } = await stompLogin(b.broker.ports.stomp!, { login: 'alice', passcode: `guess-${round}-${i}` });
        answers.push(answer);
        c.destroy();
      }
      const { c: own, answer } = await stompLogin(b.broker.ports.stomp!, { login: 'mallory', passcode: PASSWORDS.mallory });
      answers.push(`own ${answer}`);
      own.destroy();
    }
    // 4 failures lock the address: the third round's guesses, and mallory's own login, are throttled.
    assert.deepEqual(answers, [
      'ERROR Authentication failed', 'ERROR Authentication failed', 'own CONNECTED',
      'ERROR Authentication failed', 'ERROR Authentication failed', 'own ERROR Too many failed logins, try later',
      'ERROR Too many failed logins, try later', 'ERROR Too many failed logins, try later', 'own ERROR Too many failed logins, try later',
    ]);
  });
});

describe('security attacks: a burst of parallel guesses', () => {
  const b = brokerWith({ maxFailedLoginsPerAddress: 4, maxFailedLoginsPerUser: 1000 });

  test('a burst of parallel guesses sent before the lock runs the KDF only for the first failures, the rest are refused as throttled', async () => {
    const burst = 30;
    const answers = await Promise.all(
      Array.from({ length: burst }, async (_, i) => {
        const c = await RawStomp.open(b.broker.ports.stomp!, { timeout: 30_000 });
        // Unknown users (each its own name, so the per-user throttle stays out of it) cost a full KDF run each.
        c.send('CONNECT', { 'accept-version': '1.2', host: 'localhost', login: `ghost-${i}`, passcode: `guess-${i}` });
        try {
          return (await c.nextFrame()).header('message');
        } finally {
          c.destroy();
        }
      }),
    );
    const failed = answers.filter((a) => a === 'Authentication failed').length;
    const throttled = answers.filter((a) => a === 'Too many failed logins, try later').length;
    assert.equal(failed + throttled, burst, answers.join(', '));
    // 4 failures lock the address; the two KDF slots may each hold one more guess already running.
    assert.ok(failed <= 4 + 2, `${failed} guesses ran the KDF`);
  });
});

describe('security attacks: a password changed while a login with the old one runs', () => {
  let broker: TestBroker;
  let dir: string;
  let usersFile: string;

  before(async () => {
    ({ dir, usersFile } = await writeUsers());
    // alice's old hash is slow (N = 2^16): the reload below lands while her login's KDF runs.
    const users = { alice: { password: await hashPassword('old-password', { ln: 16, r: 8, p: 1 }), roles: ['device'] } };
    await writeFile(usersFile, JSON.stringify({ users }));
    broker = await startBroker({ security: { usersFile, permissions: PERMISSIONS } });
  });
  after(async () => {
    await broker.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test('the login in flight is checked against the new file, and the old password is not cached past the change', async () => {
    const connecting = stompLogin(broker.ports.stomp!, { login: 'alice', passcode: 'old-password' });
    // `junction user passwd` (the old password leaked): the file is replaced, the broker reloads it.
    const users = { alice: { password: await hashPassword('new-password', FAST), roles: ['device'] } };
    await writeFile(usersFile, JSON.stringify({ users }));
    await broker.reload();
    const { c, answer } = await connecting;
    c.destroy();
    assert.equal(answer, 'ERROR Authentication failed');
    const again = await stompLogin(broker.ports.stomp!, { login: 'alice', passcode: 'old-password' });
    again.c.destroy();
    assert.equal(again.answer, 'ERROR Authentication failed');
    const fresh = await stompLogin(broker.ports.stomp!, { login: 'alice', passcode: 'new-password' });
    fresh.c.destroy();
    assert.equal(fresh.answer, 'CONNECTED');
  });
});

describe('security attacks: audit log flooding', () => {
  const log = captureLog('info');
  const b = brokerWith({ auditMaxDenialsPerMinute: 5, maxFailedLoginsPerAddress: 3 }, log.logger);

  test('failed logins with a new user name each are limited per remote address, not per claimed name', async () => {
    // Throttled after 3 failures, so the rest cost the broker no KDF: only the log could suffer.
    for (let i = 0; i < 30; i++) {
      const { c } = await stompLogin(b.broker.ports.stomp!, { login: `nobody-${i}`, passcode: 'x' });
      c.destroy();
    }
    await b.broker.close();
    const failures = log.lines.filter((l) => l.event === 'auth.failure');
    assert.equal(failures.length, 5);
    const suppressed = log.lines.filter((l) => l.event === 'audit.suppressed');
    assert.deepEqual(suppressed.map((l) => l.suppressed), [25], 'the rest are counted in one line');
  });
});

describe('security attacks: mqttClientId prefix and user names that prefix each other', () => {
  let broker: TestBroker;
  let dir: string;

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'security-attack-'));
    const usersFile = path.join(dir, 'users.json');
    const password = await hashPassword('pw-of-both', FAST);
    await writeFile(usersFile, JSON.stringify({ users: { sensor: { password, roles: ['device'] }, sensor1: { password, roles: ['device'] } } }));
    broker = await startBroker({ security: { usersFile, permissions: PERMISSIONS, mqttClientId: 'prefix' } });
  });
  after(async () => {
    await broker.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const device = async (username: string, clientId: string): Promise<mqtt.MqttClient> => {
    const c = mqtt.connect(`mqtt://127.0.0.1:${broker.ports.mqtt}`, { clientId, username, password: 'pw-of-both', reconnectPeriod: 0 });
    await new Promise<void>((resolve, reject) => c.once('connect', () => resolve()).once('error', reject));
    return c;
  };
  const granted = async (c: mqtt.MqttClient, filter: string): Promise<number> => {
    const [g] = await c.subscribeAsync(filter, { qos: 1 }).catch((e: { granted?: Array<{ qos: number }> }) => e.granted ?? [{ qos: 128 }]);
    return g!.qos;
  };

  test("user sensor connecting as client id sensor1 (which starts with its name) does not get sensor1's %c topics", async () => {
    const impostor = await device('sensor', 'sensor1');
    try {
      assert.equal(await granted(impostor, 'devices/sensor1/#'), 128);
    } finally {
      await impostor.endAsync(true);
    }
    const own = await device('sensor', 'sensor-7');
    try {
      assert.equal(await granted(own, 'devices/sensor-7/#'), 1, 'an id that is its own still binds %c');
    } finally {
      await own.endAsync(true);
    }
    const real = await device('sensor1', 'sensor1');
    try {
      assert.equal(await granted(real, 'devices/sensor1/#'), 1);
    } finally {
      await real.endAsync(true);
    }
  });
});
