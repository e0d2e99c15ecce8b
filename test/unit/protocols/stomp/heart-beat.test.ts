import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { HeartBeats, negotiateHeartBeat, type HeartBeatClock, type HeartBeatPeer } from '../../../../src/protocols/stomp/heart-beat.ts';

/** A virtual clock: time moves only when the test advances it, and due intervals fire in order. */
class VirtualClock implements HeartBeatClock {
  private t = 1_000_000;
  private timers: Array<{ every: number; next: number; fn: () => void; live: boolean }> = [];

  now(): number {
    return this.t;
  }

  every(ms: number, fn: () => void): () => void {
    const timer = { every: ms, next: this.t + ms, fn, live: true };
    this.timers.push(timer);
    return () => {
      timer.live = false;
    };
  }

  /** Moves time on by `ms`, firing every interval that falls due on the way. */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      const due = this.timers.filter((x) => x.live && x.next <= end).sort((a, b) => a.next - b.next)[0];
      if (!due) break;
      this.t = due.next;
      due.next += due.every;
      due.fn();
    }
    this.t = end;
  }

  get live(): number {
    return this.timers.filter((x) => x.live).length;
  }
}

function peer(): HeartBeatPeer & { beats: number; missedAt: number[]; stopped: boolean } {
  const p = {
    beats: 0,
    missedAt: [] as number[],
    stopped: false,
    beat: () => void p.beats++,
    notReading: () => p.stopped,
    missed: (expectEvery: number) => void p.missedAt.push(expectEvery),
  };
  return p;
}

describe('negotiateHeartBeat', () => {
  test('each way at the larger of what one side can and the other wants, none when either says 0', () => {
    assert.deepEqual(negotiateHeartBeat('1000,2000', [5000, 500]), { header: '5000,500', sendEvery: 5000, expectEvery: 1000 });
    assert.deepEqual(negotiateHeartBeat('0,2000', [500, 500]), { header: '500,500', sendEvery: 2000, expectEvery: 0 });
    assert.deepEqual(negotiateHeartBeat(undefined, [500, 500]), { header: '500,500', sendEvery: 0, expectEvery: 0 });
    assert.deepEqual(negotiateHeartBeat('1000,1000', [0, 0]), { header: '0,0', sendEvery: 0, expectEvery: 0 });
  });

  test('garbage counts as 0; an interval past what a Node timer takes is capped', () => {
    assert.deepEqual(negotiateHeartBeat('x,y', [500, 500]), { header: '500,500', sendEvery: 0, expectEvery: 0 });
    const huge = negotiateHeartBeat(`${2 ** 40},${2 ** 40}`, [500, 500]);
    assert.equal(huge.sendEvery, 2 ** 31 - 1);
    assert.equal(huge.expectEvery, 2 ** 31 - 1);
  });
});

describe('HeartBeats (virtual time)', () => {
  test('a heart-beat goes out when the server wrote nothing for 90% of the interval', () => {
    const clock = new VirtualClock();
    const p = peer();
    const hb = new HeartBeats(p, clock);
    hb.start({ header: '', sendEvery: 1000, expectEvery: 0 });
    clock.advance(500);
    assert.equal(p.beats, 0, 'half an interval: too soon');
    clock.advance(500);
    assert.equal(p.beats, 1);
    // Writing keeps it quiet.
    for (let i = 0; i < 10; i++) {
      hb.wrote();
      clock.advance(500);
    }
    assert.equal(p.beats, 1);
  });

  test('the peer is dead after twice its interval of silence, not before', () => {
    const clock = new VirtualClock();
    const p = peer();
    const hb = new HeartBeats(p, clock);
    hb.start({ header: '', sendEvery: 0, expectEvery: 1000 });
    clock.advance(1000);
    hb.read();
    clock.advance(2000);
    assert.deepEqual(p.missedAt, [], 'exactly twice the interval is still alive');
    clock.advance(1000);
    assert.deepEqual(p.missedAt, [1000]);
  });

  test('while the broker does not read the connection, the silence is not the peer\'s', () => {
    const clock = new VirtualClock();
    const p = peer();
    const hb = new HeartBeats(p, clock);
    hb.start({ header: '', sendEvery: 0, expectEvery: 1000 });
    p.stopped = true;
    clock.advance(10_000);
    assert.deepEqual(p.missedAt, []);
    p.stopped = false;
    clock.advance(2000);
    assert.deepEqual(p.missedAt, [], 'the time counts again only from the resume');
    clock.advance(1000);
    assert.deepEqual(p.missedAt, [1000]);
  });

  test('stop cancels every timer', () => {
    const clock = new VirtualClock();
    const hb = new HeartBeats(peer(), clock);
    hb.start({ header: '', sendEvery: 1000, expectEvery: 1000 });
    assert.equal(clock.live, 2);
    hb.stop();
    assert.equal(clock.live, 0);
  });
});
