import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { createLogger, formatPretty, isExpectedNetworkError } from '../../src/log.ts';

/*
 * Issue 12 item 20: expected network conditions are logged as code and message, one line, no stack
 * (the broker logger's err/error serializer, so every call site that logs `{ err }` gets it), while
 * other errors keep their stack; `--log-format pretty` turns each JSON line into one readable line.
 */

/** A broker logger writing into an array of lines (JSON, or text with `format: 'pretty'`). */
function logger(format: 'json' | 'pretty' = 'json') {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(...chunk.toString().split('\n').filter((l) => l !== ''));
      cb();
    },
  });
  return { log: createLogger('info', { format, destination: sink }), lines, flushed: () => new Promise((r) => setImmediate(r)) };
}

/** A real ECONNREFUSED: a connect to a port that was just closed. */
async function refused(host = '127.0.0.1'): Promise<Error> {
  const server = net.createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  server.close();
  await once(server, 'close');
  const s = net.connect(port, host);
  const [err] = (await once(s, 'error').catch((e: unknown) => [e])) as [Error];
  return err;
}

/** A real ECONNRESET: the peer closes with RST (SO_LINGER 0) while this side reads. */
async function reset(): Promise<Error> {
  const server = net.createServer((sock) => sock.resetAndDestroy());
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const s = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  const [err] = (await once(s, 'error').catch((e: unknown) => [e])) as [Error];
  server.close();
  return err;
}

test('a refused connection and a reset socket are logged as code and message, without a stack, also from child loggers', async () => {
  const { log, lines, flushed } = logger();
  const econnrefused = await refused();
  const econnreset = await reset();
  assert.equal((econnrefused as NodeJS.ErrnoException).code, 'ECONNREFUSED');
  assert.equal((econnreset as NodeJS.ErrnoException).code, 'ECONNRESET');
  log.child({ component: 'routes' }).warn({ err: econnrefused }, 'remote down');
  log.warn({ error: econnreset }, 'client gone');
  await flushed();
  const [a, b] = lines.map((l) => JSON.parse(l) as { err?: Record<string, unknown>; error?: Record<string, unknown> });
  assert.deepEqual(Object.keys(a!.err!).sort(), ['code', 'message', 'type']);
  assert.equal(a!.err!.code, 'ECONNREFUSED');
  assert.match(String(a!.err!.message), /ECONNREFUSED 127\.0\.0\.1:\d+/);
  assert.equal(b!.error!.code, 'ECONNRESET');
  assert.equal(b!.error!.stack, undefined);
});

test('a refused connect to a name with several addresses (an AggregateError) is expected too', async () => {
  const err = new AggregateError([Object.assign(new Error('connect ECONNREFUSED ::1:1'), { code: 'ECONNREFUSED' }), Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' })]);
  assert.equal(isExpectedNetworkError(err), true);
  const { log, lines, flushed } = logger();
  log.error({ err }, 'x');
  await flushed();
  const e = (JSON.parse(lines[0]!) as { err: Record<string, unknown> }).err;
  assert.equal(e.code, 'ECONNREFUSED');
  assert.equal(e.stack, undefined);
  assert.match(String(e.message), /ECONNREFUSED ::1:1; connect ECONNREFUSED 127\.0\.0\.1:1/);
});

test('an error wrapping an expected one (cause) is expected; any other error keeps its stack', async () => {
  assert.equal(isExpectedNetworkError(new Error('send failed', { cause: Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }) })), true);
  const { log, lines, flushed } = logger();
  log.error({ err: new TypeError('cannot read properties of undefined') }, 'bug');
  log.error({ err: Object.assign(new Error('disk'), { code: 'ENOSPC' }) }, 'disk');
  await flushed();
  for (const l of lines) assert.match(String((JSON.parse(l) as { err: { stack?: string } }).err.stack), /\n\s+at /);
});

test('pretty: one line with time, level, component, message and fields; a bug keeps its stack on indented lines', async () => {
  const { log, lines, flushed } = logger('pretty');
  log.child({ component: 'stomp' }).info({ remote: '127.0.0.1:5120', n: 3, note: 'two words' }, 'connection closed');
  log.warn({ err: await refused() }, 'remote endpoint down');
  log.error({ err: new TypeError('boom') }, 'bug');
  await flushed();
  assert.match(lines[0]!, /^\d\d:\d\d:\d\d\.\d{3} INFO  stomp: connection closed remote=127\.0\.0\.1:5120 n=3 note="two words"$/);
  assert.match(lines[1]!, /^\d\d:\d\d:\d\d\.\d{3} WARN  remote endpoint down err="ECONNREFUSED connect ECONNREFUSED 127\.0\.0\.1:\d+"$/);
  // The refused connect is one line: the next line is the next event.
  assert.match(lines[2]!, /^\d\d:\d\d:\d\d\.\d{3} ERROR bug err="boom"$/);
  assert.match(lines[3]!, /^ {4}TypeError: boom$/);
  assert.match(lines[4]!, /^ {4}at /);
});

test('pretty passes a line that is not JSON through unchanged', () => {
  assert.equal(formatPretty('plain text\n'), 'plain text\n');
});
