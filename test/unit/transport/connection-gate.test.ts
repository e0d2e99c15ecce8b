import assert from 'node:assert/strict';
import { afterEach, describe, mock, test } from 'node:test';
import { ConnectionGate, FD_RESERVE } from '../../../src/transport/connection-gate.ts';
import { captureLog, type LogCapture, type LogLine } from '../../helpers/log-capture.ts';

/** The gate's logger, and the lines it wrote. */
function capture(): { log: LogCapture['logger']; lines: LogLine[] } {
  const { logger, lines } = captureLog();
  return { log: logger, lines };
}

/** pino writes through a stream: its lines arrive a tick later. */
const flushed = (): Promise<void> => new Promise((r) => setImmediate(r));

afterEach(() => mock.timers.reset());

describe('ConnectionGate', () => {
  test('admits up to maxPerAddress from one address and up to max overall; release makes room', () => {
    const { log } = capture();
    const gate = new ConnectionGate({ max: 5, maxPerAddress: 3 }, log, undefined);
    assert.deepEqual([1, 2, 3, 4].map(() => gate.admit('10.0.0.1', 'stomp')), [true, true, true, false]);
    assert.equal(gate.admit('10.0.0.2', 'mqtt'), true);
    assert.equal(gate.admit('10.0.0.2', 'mqtt'), true);
    assert.equal(gate.count, 5);
    assert.equal(gate.admit('10.0.0.3', 'amqp'), false, 'overall max');
    gate.release('10.0.0.1');
    assert.equal(gate.admit('10.0.0.3', 'amqp'), true);
    gate.close();
  });

  test('an IPv4-mapped IPv6 address is the same host as its IPv4 form', () => {
    const gate = new ConnectionGate({ max: 10, maxPerAddress: 1 }, capture().log, undefined);
    assert.equal(gate.admit('10.0.0.1', 'stomp'), true);
    assert.equal(gate.admit('::ffff:10.0.0.1', 'ws'), false);
    gate.release('::ffff:10.0.0.1');
    assert.equal(gate.count, 0);
    gate.close();
  });

  test('a release of an address never admitted changes nothing (no negative counts)', () => {
    const gate = new ConnectionGate({ max: 1, maxPerAddress: 1 }, capture().log, undefined);
    gate.release('10.9.9.9');
    assert.equal(gate.count, 0);
    assert.equal(gate.admit('10.0.0.1', 'stomp'), true);
    assert.equal(gate.admit('10.0.0.2', 'stomp'), false);
    gate.close();
  });

  test('refusals are logged once per burst: the first at once, then a count every 10 s, quiet again after a quiet period', async () => {
    mock.timers.enable({ apis: ['setInterval'] });
    const { log, lines } = capture();
    const gate = new ConnectionGate({ max: 2, maxPerAddress: 1 }, log, undefined);
    gate.admit('10.0.0.1', 'stomp');
    for (let i = 0; i < 1000; i++) gate.admit('10.0.0.1', 'stomp');
    await flushed();
    assert.equal(lines.length, 1);
    assert.equal(lines[0]!.code, 'ERR_TRANSPORT_CONNECTION_LIMIT');
    assert.equal(lines[0]!.limit, 'connections.maxPerAddress');
    mock.timers.tick(10_000);
    await flushed();
    assert.equal(lines.length, 2);
    assert.equal(lines[1]!.refused, 999);
    // A quiet period ends the burst; the next refusal is logged at once.
    mock.timers.tick(10_000);
    await flushed();
    assert.equal(lines.length, 2);
    assert.equal(gate.admit('10.0.0.2', 'stomp'), true);
    assert.equal(gate.admit('10.0.0.3', 'stomp'), false);
    await flushed();
    assert.equal(lines.length, 3);
    assert.equal(lines[2]!.limit, 'connections.max');
    gate.close();
  });

  test('max is kept under the file-descriptor limit, with a warning', async () => {
    const { log, lines } = capture();
    const gate = new ConnectionGate({ max: 10_000, maxPerAddress: 1000 }, log, 1024);
    assert.equal(gate.max, 1024 - FD_RESERVE);
    await flushed();
    assert.equal(lines.length, 1);
    assert.equal(lines[0]!.configured, 10_000);
    const roomy = new ConnectionGate({ max: 10_000, maxPerAddress: 1000 }, log, 1_048_576);
    assert.equal(roomy.max, 10_000);
  });
});
