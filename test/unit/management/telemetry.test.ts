import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createTelemetry, HISTORY_SAMPLES } from '../../../src/management/telemetry.ts';
import type { Sample } from '../../../src/management/telemetry-types.ts';
import { fakeContext, fakeTotals } from './fake-context.ts';

/*
 * The once-a-second sampler (issue 15) with a fake context and a fake clock: rates from counter
 * deltas, the 15-minute ring, alarms, parts that cannot be read yet. The timer is unref'd and
 * samples are taken with sampleNow in synchronous tests (the 1 s timer cannot fire in between), so
 * nothing depends on timing.
 */

function sampler(state: Parameters<typeof fakeContext>[0] = {}) {
  const f = fakeContext(state);
  let clock = 1_000_000;
  const t = createTelemetry(f.ctx, { intervalMs: 1000, now: () => clock });
  return { ...f, t, advance: (ms: number) => (clock += ms) };
}

test('rates are counter deltas over the elapsed time; the first sample has none; subscribers see each sample', () => {
  const { t, state, advance } = sampler();
  const seen: Sample[] = [];
  const un = t.subscribe((s) => seen.push(s));
  try {
    assert.deepEqual(t.latest().rates, { sent: 0, enqueued: 0, acked: 0, expired: 0, deadLettered: 0 });
    state.totals = fakeTotals({ sent: 100, enqueued: 200, acked: 50, expired: 4, deadLettered: 2 });
    advance(1000);
    const s = t.sampleNow();
    assert.deepEqual(s.rates, { sent: 100, enqueued: 200, acked: 50, expired: 4, deadLettered: 2 });
    assert.equal(t.latest(), s);
    assert.deepEqual(seen, [s]);
    state.totals = fakeTotals({ sent: 300, enqueued: 200, acked: 50, expired: 4, deadLettered: 2 });
    advance(2000);
    assert.equal(t.sampleNow().rates.sent, 100, '200 more over 2 s');
    un();
    t.sampleNow();
    assert.equal(seen.length, 2, 'unsubscribed');
    // A counter read lower than before (not expected) gives 0, not a negative rate.
    state.totals = fakeTotals({ sent: 10 });
    advance(1000);
    assert.equal(t.sampleNow().rates.sent, 0);
  } finally {
    t.close();
  }
});

test('the ring keeps the last 900 samples, oldest first', () => {
  const { t, advance } = sampler();
  try {
    for (let i = 0; i < HISTORY_SAMPLES + 50; i++) {
      advance(1000);
      t.sampleNow();
    }
    const all = t.history(100_000);
    assert.equal(all.length, HISTORY_SAMPLES);
    for (let i = 1; i < all.length; i++) assert.equal(all[i]!.at - all[i - 1]!.at, 1000, 'in time order, none missing');
    assert.equal(all.at(-1), t.latest());
    assert.equal(t.history(300).length, 300);
    assert.equal(t.history(300)[0], all[600]);
    assert.equal(t.history(0).length, 0);
  } finally {
    t.close();
  }
});

test('history(seconds) counts samples of the interval', () => {
  const { ctx } = fakeContext();
  let clock = 0;
  const t = createTelemetry(ctx, { intervalMs: 1000, now: () => (clock += 1000) });
  try {
    for (let i = 0; i < 20; i++) t.sampleNow();
    assert.equal(t.history(5).length, 5);
    assert.equal(t.history(5).at(-1), t.latest());
    assert.equal(t.history(100).length, 21, 'fewer taken than asked: all of them');
  } finally {
    t.close();
  }
});

test('alarms: memory over 90%, blocked sends, failed routes, a new journal error for a minute', () => {
  const { t, state, advance } = sampler({ memory: { limitBytes: 1000, usedBytes: 950, blockedSends: 3, dropped: 0 } });
  try {
    state.routes = [{ id: 'r1', state: 'failed', stats: { completed: 0, failed: 0, released: 0, inFlight: 0, deadLettered: 0, redeliveries: 0, meanMs: 0, maxMs: 0 }, steps: [] }];
    state.journal = { segments: 1, bytes: 0, liveBytes: 0, messages: 0, writes: 0, syncs: 0, compactedSegments: 0, errors: 0, bytesWritten: 0, syncSeconds: { buckets: [], count: 0, sumSeconds: 0 }, segmentSize: 1 };
    const first = t.sampleNow();
    assert.deepEqual(first.alarms.map((a) => a.code), ['MEMORY_HIGH', 'SENDS_BLOCKED', 'ROUTES_FAILED']);
    assert.match(first.alarms[0]!.message, /95%/);
    assert.match(first.alarms[2]!.message, /r1/);
    state.memory = { limitBytes: 1000, usedBytes: 900, blockedSends: 0, dropped: 0 };
    state.routes = [];
    state.journal = { ...state.journal, errors: 1 };
    advance(1000);
    assert.deepEqual(t.sampleNow().alarms.map((a) => a.code), ['JOURNAL_ERRORS'], '90% exactly is not over');
    advance(59_000);
    assert.deepEqual(t.sampleNow().alarms.map((a) => a.code), ['JOURNAL_ERRORS']);
    advance(1000);
    assert.deepEqual(t.sampleNow().alarms, [], 'no new journal error for a minute: cleared');
    state.memory = { limitBytes: -1, usedBytes: 10_000, blockedSends: 0, dropped: 0 };
    assert.deepEqual(t.sampleNow().memory, { limitBytes: 0, usedBytes: 10_000, blockedSends: 0 }, 'no limit (-1) is shown as 0 and never alarms');
  } finally {
    t.close();
  }
});

test('a part that cannot be read (a facade method not built yet) is reported as zero and logged once', () => {
  const { t, ctx, logs } = sampler();
  (ctx.core as unknown as { totals: () => never }).totals = () => {
    throw new Error('not implemented');
  };
  (ctx.connections as unknown as { counts: () => never }).counts = () => {
    throw new Error('not implemented');
  };
  try {
    for (let i = 0; i < 5; i++) t.sampleNow();
    assert.equal(t.latest().totals.sent, 0);
    assert.deepEqual(t.latest().connections, { stomp: 0, mqtt: 0, amqp: 0 });
    assert.equal(logs.filter((l) => l.level === 'warn').length, 2, 'once per part');
  } finally {
    t.close();
  }
});
