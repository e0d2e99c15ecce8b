import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import { parseBrokerUrl, parseDestination, filler } from '../../../src/cli/amqp-link.ts';
import { CliError, EXIT } from '../../../src/cli/cli-error.ts';
import { integer, nonNegativeNumber, positiveNumber } from '../../../src/cli/options.ts';
import { buildProgram } from '../../../src/cli/program.ts';
import { isLocalRouteArg } from '../../../src/cli/route-remote.ts';

const usageError = (e: unknown) => e instanceof CliError && e.exitCode === EXIT.usage;

test('number options: whole numbers, positive numbers, numbers >= 0; anything else is a usage error', () => {
  assert.equal(integer('--n', 1)('1000'), 1000);
  assert.throws(() => integer('--n', 1)('0'), usageError);
  assert.throws(() => integer('--n')('1.5'), usageError);
  assert.throws(() => integer('--n')(''), usageError);
  assert.throws(() => integer('--n')('abc'), usageError);
  assert.equal(positiveNumber('--t')('2.5'), 2.5);
  assert.throws(() => positiveNumber('--t')('0'), usageError);
  assert.throws(() => positiveNumber('--t')('Infinity'), usageError);
  assert.equal(nonNegativeNumber('--w')('0'), 0);
  assert.throws(() => nonNegativeNumber('--w')('-1'), usageError);
});

test('--destination takes queue://NAME or topic://NAME only', () => {
  assert.equal(parseDestination('queue://orders'), 'queue://orders');
  assert.equal(parseDestination('topic://sensors.1.temp'), 'topic://sensors.1.temp');
  for (const bad of ['orders', 'queue://', 'http://x', 'queue://a b']) assert.throws(() => parseDestination(bad), usageError, bad);
});

test('--broker: amqp:// and amqps:// with their default ports; IPv6 brackets dropped', () => {
  assert.deepEqual(parseBrokerUrl('amqp://broker:5673'), { host: 'broker', port: 5673, tls: false });
  assert.deepEqual(parseBrokerUrl('amqp://broker'), { host: 'broker', port: 5672, tls: false });
  assert.deepEqual(parseBrokerUrl('amqps://[::1]'), { host: '::1', port: 5671, tls: true });
  assert.throws(() => parseBrokerUrl('stomp://x:61613'), usageError);
  assert.throws(() => parseBrokerUrl('not a url'), usageError);
});

test('filler bodies have the exact size asked', () => {
  for (const n of [0, 1, 9, 100, 4097]) assert.equal(Buffer.byteLength(filler(n)), n);
});

test('route graph reads a route file offline, anything else is a deployed route id', () => {
  assert.equal(isLocalRouteArg('routes/examples-router.route.json'), true);
  assert.equal(isLocalRouteArg('whatever/x.route.ts'), true);
  assert.equal(isLocalRouteArg('examples-router'), false);
});

// The program parses options as commander declares them: defaults, environment, repeated values.
const parts = { usage: 'USAGE', version: '9.9.9', start: async () => {} };
const saved = { ...process.env };
afterEach(() => {
  process.env = { ...saved };
  process.exitCode = undefined;
});

function optionsOf(argv: string[]): Record<string, unknown> {
  const program = buildProgram(parts);
  let seen: Record<string, unknown> = {};
  // Every leaf command's action replaced by one that records its options: no network.
  const walk = (c: typeof program): void => {
    for (const sub of c.commands) {
      sub.action((...args: unknown[]) => {
        seen = (args[args.length - 1] as typeof program).opts();
      });
      walk(sub);
    }
  };
  walk(program);
  program.parse(argv, { from: 'user' });
  return seen;
}

test('management commands: --url defaults to http://localhost:8161, JUNCTION_URL and JUNCTION_USER are read, a flag wins', () => {
  delete process.env.JUNCTION_URL;
  delete process.env.JUNCTION_USER;
  assert.deepEqual(optionsOf(['queue', 'stat']), { url: 'http://localhost:8161', timeout: 10, sort: 'name' });
  process.env.JUNCTION_URL = 'https://broker:8162';
  process.env.JUNCTION_USER = 'ops';
  assert.deepEqual(optionsOf(['connection', 'list']), { url: 'https://broker:8162', user: 'ops', timeout: 10, limit: 1000 });
  assert.equal(optionsOf(['browse', 'q', '--url', 'http://other:1', '--limit', '5']).url, 'http://other:1');
});

test('queue stat --watch takes an optional number of seconds; move takes --to and several --ids', () => {
  assert.equal(optionsOf(['queue', 'stat', '--watch']).watch, true);
  assert.equal(optionsOf(['queue', 'stat', '--watch', '5']).watch, 5);
  const o = optionsOf(['queue', 'move', 'DLQ', '--to', 'orders', '--ids', 'a', 'b', '--json']);
  assert.deepEqual(o.ids, ['a', 'b']);
  assert.equal(o.to, 'orders');
  assert.equal(o.json, true);
  assert.equal(o.wait, true);
});

test('producer: defaults as artemis producer (1000 persistent messages); --non-persistent and --txt-size are read', () => {
  const o = optionsOf(['producer', '--destination', 'queue://orders']);
  assert.equal(o.messageCount, 1000);
  assert.equal(o.persistent, true);
  assert.equal(o.threads, 1);
  assert.equal(o.protocol, 'amqp');
  const p = optionsOf(['producer', '--destination', 'topic://t', '--non-persistent', '--txt-size', '64', '--rate', '100']);
  assert.equal(p.nonPersistent, true);
  assert.equal(p.txtSize, 64);
  assert.equal(p.rate, 100);
});

test('perf has a default destination, 10 s and 2 s of warm-up', () => {
  const o = optionsOf(['perf']);
  assert.equal(o.destination, 'queue://junction.perf');
  assert.equal(o.duration, 10);
  assert.equal(o.warmup, 2);
});

test('usage errors: a missing --destination, a bad --protocol, a bad number', () => {
  assert.throws(() => optionsOf(['producer']), /required option '--destination <dest>' not specified/);
  assert.throws(() => optionsOf(['consumer', '--destination', 'queue://q', '--protocol', 'mqtt']), /Allowed choices are amqp/);
  assert.throws(() => optionsOf(['producer', '--destination', 'queue://q', '--message-count', 'x']), usageError);
});
