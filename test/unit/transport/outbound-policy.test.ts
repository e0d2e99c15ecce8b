import assert from 'node:assert/strict';
import { afterEach, describe, mock, test } from 'node:test';
import pino from 'pino';
import { OutboundPolicy, type Watched } from '../../../src/transport/outbound-policy.ts';

/** The codes of the policy's log lines, in order (pino's sync destination-less logger writes through this hook). */
let logged: string[] = [];

/** A connection as the policy sees it; `aborted` is the codes logged when it was closed. */
function conn(outboundBytes = 20_000): Watched & { aborted: string[]; outboundBytes: number; closed: boolean } {
  return {
    id: 1,
    kind: 'tcp',
    remoteAddress: '10.0.0.1:5000',
    protocol: 'stomp',
    closed: false,
    outboundBytes,
    congestedSince: 0,
    slowTimer: undefined,
    aborted: [],
    abort() {
      this.aborted.push(logged.at(-1) ?? '(not logged)');
      this.closed = true;
    },
  };
}

let clock = 0;
function policy(slowConsumerTimeout: number, maxOutboundBytes = 1 << 20): OutboundPolicy {
  mock.timers.enable({ apis: ['setTimeout'] });
  clock = 1000;
  logged = [];
  const log = pino({ level: 'warn', hooks: { logMethod: (args) => void logged.push(String((args[0] as { code?: string }).code)) } });
  return new OutboundPolicy({ slowConsumerTimeout, maxOutboundBytes }, log, () => clock);
}
function advance(ms: number): void {
  clock += ms;
  mock.timers.tick(ms);
}

afterEach(() => mock.timers.reset());

describe('OutboundPolicy', () => {
  test('a connection congested for slowConsumerTimeout is closed with ERR_TRANSPORT_SLOW_CONSUMER', () => {
    const p = policy(30_000);
    const c = conn();
    p.overWater(c);
    p.overWater(c); // more writes in the same congestion: one timer
    advance(29_999);
    assert.equal(c.aborted.length, 0);
    advance(1);
    assert.deepEqual(c.aborted, ['ERR_TRANSPORT_SLOW_CONSUMER'], 'logged once, before the close');
    assert.equal(c.slowTimer, undefined);
  });

  test('a drain in between restarts the count: congested again later waits its own full timeout', () => {
    const p = policy(30_000);
    const c = conn();
    p.overWater(c);
    advance(20_000);
    c.congestedSince = 0; // drained
    advance(5_000);
    p.overWater(c); // congested again at 25 s
    advance(5_000); // the first timer fires at 30 s, finds a congestion 5 s old
    assert.equal(c.aborted.length, 0);
    advance(24_999);
    assert.equal(c.aborted.length, 0);
    advance(1);
    assert.equal(c.aborted.length, 1);
  });

  test('a connection that drained stays open, and its timer stops', () => {
    const p = policy(1000);
    const c = conn();
    p.overWater(c);
    c.congestedSince = 0;
    advance(5000);
    assert.equal(c.aborted.length, 0);
    assert.equal(c.slowTimer, undefined);
  });

  test('a timer that outlives its connection does nothing', () => {
    const p = policy(1000);
    const c = conn();
    p.overWater(c);
    c.closed = true;
    advance(5000);
    assert.equal(c.aborted.length, 0);
  });

  test('more than maxOutboundBytes queued closes at once with ERR_TRANSPORT_OUTBOUND_LIMIT', () => {
    const p = policy(30_000, 100_000);
    const c = conn(100_001);
    p.overWater(c);
    assert.deepEqual(c.aborted, ['ERR_TRANSPORT_OUTBOUND_LIMIT']);
    assert.equal(c.slowTimer, undefined);
  });

  test('slowConsumerTimeout 0: never closed for being slow', () => {
    const p = policy(0);
    const c = conn();
    p.overWater(c);
    assert.equal(c.slowTimer, undefined);
    advance(1e9);
    assert.equal(c.aborted.length, 0);
  });
});
