import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadConfig, parseConfig } from '../../src/config/load-config.ts';
import { JunctionError } from '../../src/errors.ts';

/** The ERR_CONFIG_INVALID error `fn` throws (or its promise rejects with). */
async function configError(fn: () => unknown): Promise<JunctionError> {
  try {
    await fn();
  } catch (err) {
    assert.ok(err instanceof JunctionError, `expected a JunctionError, got ${String(err)}`);
    assert.equal(err.code, 'ERR_CONFIG_INVALID');
    return err;
  }
  throw new Error('expected the config to be rejected');
}

describe('parseConfig', () => {
  test('an empty config gets the embedded defaults (ActiveMQ ports)', () => {
    const c = parseConfig({});
    assert.deepEqual(c.ports, { mqtt: 1883, amqp: 5672, stomp: 61613, ws: 61614, http: 8161 });
    assert.equal(c.dataDir, './data');
    assert.equal(c.host, '127.0.0.1');
    assert.equal(c.name, 'junction');
    assert.equal(c.logLevel, 'info');
    assert.deepEqual(c.addressSettings, {});
  });

  test('STOMP limits default to 10 KiB of headers, 1000 headers and 4 MiB of body', () => {
    const { stomp } = parseConfig({});
    assert.equal(stomp.maxHeaderBytes, 10 * 1024);
    assert.equal(stomp.maxHeaders, 1000);
    assert.equal(stomp.maxBodyBytes, 4 * 1024 * 1024);
    assert.deepEqual(stomp.heartBeat, [10000, 10000]);
    assert.equal(stomp.nackPolicy, 'deadLetter');
  });

  test('the store defaults to the journal, confirming after fsync', () => {
    const { store } = parseConfig({});
    assert.equal(store.type, 'journal');
    assert.equal(store.sync, 'always');
  });

  test('undefined and null inputs are the empty config', () => {
    assert.equal(parseConfig(undefined).ports.stomp, 61613);
    assert.equal(parseConfig(null).ports.stomp, 61613);
  });

  test('a partial section keeps the defaults of the fields it leaves out', () => {
    const c = parseConfig({ ports: { stomp: 0 }, stomp: { maxBodyBytes: 1024 } });
    assert.equal(c.ports.stomp, 0);
    assert.equal(c.ports.mqtt, 1883);
    assert.equal(c.stomp.maxBodyBytes, 1024);
    assert.equal(c.stomp.maxHeaders, 1000);
  });

  test('a mistyped top-level key is rejected, naming it', async () => {
    const err = await configError(() => parseConfig({ prots: { stomp: 1 } }));
    assert.match(err.message, /prots/);
  });

  test('a mistyped nested key is rejected, naming it', async () => {
    const err = await configError(() => parseConfig({ stomp: { maxBodyByte: 10 } }));
    assert.match(err.message, /maxBodyByte/);
  });

  test('a mistyped address setting is rejected, naming it', async () => {
    const err = await configError(() => parseConfig({ addressSettings: { 'orders.>': { maxDeliveryAtempts: 3 } } }));
    assert.match(err.message, /maxDeliveryAtempts/);
  });

  test('a value of the wrong type is rejected, naming the field path', async () => {
    const err = await configError(() => parseConfig({ ports: { stomp: 'sixty' } }));
    assert.match(err.message, /ports\.stomp/);
  });

  test('an out-of-range port is rejected', async () => {
    const err = await configError(() => parseConfig({ ports: { stomp: 70000 } }));
    assert.match(err.message, /ports\.stomp/);
  });

  test('an unknown address-full policy is rejected', async () => {
    const err = await configError(() => parseConfig({ addressSettings: { q: { addressFullPolicy: 'BOUNCE' } } }));
    assert.match(err.message, /addressFullPolicy/);
  });
});

describe('loadConfig', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'junction-config-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function file(name: string, content: string): Promise<string> {
    const p = path.join(dir, name);
    await writeFile(p, content);
    return p;
  }

  test('with no file, no env and no flags it gives the defaults', async () => {
    const c = await loadConfig(undefined, {}, {});
    assert.deepEqual(c, parseConfig({}));
  });

  test('reads the config file', async () => {
    const c = await loadConfig(await file('a.json', JSON.stringify({ name: 'b1', ports: { stomp: 1234 } })), {}, {});
    assert.equal(c.name, 'b1');
    assert.equal(c.ports.stomp, 1234);
  });

  test('JUNCTION_STOMP_PORT overrides the default', async () => {
    const c = await loadConfig(undefined, {}, { JUNCTION_STOMP_PORT: '4321' });
    assert.equal(c.ports.stomp, 4321);
    assert.equal(c.ports.ws, 61614, 'other ports keep their defaults');
  });

  test('the environment beats the config file', async () => {
    const f = await file('b.json', JSON.stringify({ ports: { stomp: 1234, ws: 2345 }, dataDir: '/from/file' }));
    const c = await loadConfig(f, {}, { JUNCTION_STOMP_PORT: '4321', JUNCTION_DATA_DIR: '/from/env' });
    assert.equal(c.ports.stomp, 4321);
    assert.equal(c.ports.ws, 2345, 'the file still sets what the environment does not');
    assert.equal(c.dataDir, '/from/env');
  });

  test('flags beat the environment', async () => {
    const c = await loadConfig(undefined, { ports: { stomp: 5555 }, dataDir: '/from/flag' }, { JUNCTION_STOMP_PORT: '4321', JUNCTION_DATA_DIR: '/from/env' });
    assert.equal(c.ports.stomp, 5555);
    assert.equal(c.dataDir, '/from/flag');
  });

  test('an empty environment variable is ignored', async () => {
    const c = await loadConfig(undefined, {}, { JUNCTION_STOMP_PORT: '' });
    assert.equal(c.ports.stomp, 61613);
  });

  test('a non-numeric port variable is rejected, naming the variable', async () => {
    const err = await configError(() => loadConfig(undefined, {}, { JUNCTION_STOMP_PORT: 'abc' }));
    assert.match(err.message, /JUNCTION_STOMP_PORT/);
  });

  test('a config file that is not JSON is rejected, naming the file', async () => {
    const f = await file('bad.json', '{ ports: ');
    const err = await configError(() => loadConfig(f, {}, {}));
    assert.match(err.message, /bad\.json/);
  });

  test('a missing config file is rejected, naming the file', async () => {
    const err = await configError(() => loadConfig(path.join(dir, 'missing.json'), {}, {}));
    assert.match(err.message, /missing\.json/);
  });

  test('a mistyped key in the file is rejected, naming the key and the file', async () => {
    const f = await file('typo.json', JSON.stringify({ stomp: { maxBodyByte: 10 } }));
    const err = await configError(() => loadConfig(f, {}, {}));
    assert.match(err.message, /maxBodyByte/);
    assert.match(err.message, /typo\.json/);
  });

  test('a bad value from the environment is rejected by the schema, naming the field', async () => {
    const err = await configError(() => loadConfig(undefined, {}, { JUNCTION_LOG_LEVEL: 'loud' }));
    assert.match(err.message, /logLevel/);
  });
});
