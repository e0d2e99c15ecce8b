/**
 * Selector benchmark (issue 11, item 4): the worst case of one LIKE evaluation, and messages per
 * second through a queue whose only consumer has a LIKE selector that matches nothing, each against
 * a reference measured in the same run: the two-pointer LIKE matcher Junction used before (kept
 * here, below, as it was), V8's `indexOf`, and a trivial selector. In process, memory store; under
 * a minute. A measurement, not a test: no assertions.
 *
 * Run alone: node --import tsx test/bench/selector-bench.ts   (BENCH_SELECTOR_MESSAGES=N)
 */
import pino from 'pino';
import { Core } from '../../src/core/core.ts';
import { compileLikePattern, type LikePattern } from '../../src/core/selector/like.ts';
import { MemoryStore } from '../../src/store/memory-store.ts';

const MESSAGES = Number(process.env.BENCH_SELECTOR_MESSAGES ?? 2000);

// ---- the reference: the two-pointer wildcard matcher as it was before issue 11 ----

const ANY_ONE = -1;
const ANY_SEQUENCE = -2;

/** The old matcher: backtracks to the last '%' only, so at most (n + 1)(m + 1) steps. */
function oldLike(pattern: string): LikePattern {
  const list: number[] = [];
  for (const ch of pattern) {
    if (ch === '%') {
      if (list[list.length - 1] !== ANY_SEQUENCE) list.push(ANY_SEQUENCE);
    } else list.push(ch === '_' ? ANY_ONE : (ch.codePointAt(0) as number));
  }
  const tokens = Int32Array.from(list);
  const m = tokens.length;
  return {
    source: pattern,
    wildcardLength: 0, // unused by the reference matcher
    test(value) {
      const n = value.length;
      let i = 0;
      let p = 0;
      let starP = -1;
      let starI = 0;
      while (i < n) {
        const t = p < m ? (tokens[p] as number) : -3;
        if (t === ANY_SEQUENCE) {
          starP = p++;
          starI = i;
          continue;
        }
        const cp = value.codePointAt(i) as number;
        if (t === ANY_ONE || t === cp) {
          i += cp > 0xffff ? 2 : 1;
          p++;
          continue;
        }
        if (starP < 0) return false;
        const swallowed = value.codePointAt(starI) as number;
        starI += swallowed > 0xffff ? 2 : 1;
        i = starI;
        p = starP + 1;
      }
      while (p < m && tokens[p] === ANY_SEQUENCE) p++;
      return p === m;
    },
  };
}

// ---- timing helpers ----

/** ms per call of `f`, repeated until at least `minMs` have passed (after one warm-up call). */
function msPerCall(f: () => unknown, minMs = 200, maxCalls = 1000): number {
  f();
  let calls = 0;
  const t0 = performance.now();
  let elapsed = 0;
  while (elapsed < minMs && calls < maxCalls) {
    f();
    calls++;
    elapsed = performance.now() - t0;
  }
  return elapsed / calls;
}

function fmt(ms: number): string {
  return ms >= 100 ? `${ms.toFixed(0)} ms` : ms >= 1 ? `${ms.toFixed(1)} ms` : `${(ms * 1000).toFixed(1)} µs`;
}

function row(label: string, junction: string, reference: string, ratio: string): void {
  console.log(`${label.padEnd(58)} ${junction.padStart(12)} ${reference.padStart(22)} ${ratio.padStart(9)}`);
}

// ---- part 1: one evaluation ----

function evaluations(): void {
  console.log('\nselector worst case: ms per LIKE evaluation (Junction now vs the reference, same run)');
  row('case', 'junction', 'reference', 'speed-up');
  const issue = `%${'a'.repeat(3997)}_b%`;
  const within = `%${'a'.repeat(253)}_b%`;
  const a9k = 'a'.repeat(9000);
  const a1m = 'a'.repeat(1_000_000);
  // The issue's pattern needs maxLikeSegment raised to 4096 (the default refuses it at SUBSCRIBE).
  const issueNew = compileLikePattern(issue, undefined, 4096);
  const issueOld = oldLike(issue);
  const old9k = msPerCall(() => issueOld.test(a9k), 300, 5);
  const new9k = msPerCall(() => issueNew.test(a9k));
  row("issue's %a{3997}_b% vs 9,000 a (limit lifted)", fmt(new9k), `${fmt(old9k)} (old)`, `${(old9k / new9k).toFixed(0)}x`);
  // The old matcher on 1M would run ~4·10^9 steps (about a minute): estimated from its 9,000 rate.
  const oldSteps9k = 9001 * (issue.length + 1);
  const old1mEst = (old9k / oldSteps9k) * 1_000_001 * (issue.length + 1);
  const new1m = msPerCall(() => issueNew.test(a1m), 500, 3);
  row("issue's %a{3997}_b% vs 1,000,000 a (limit lifted)", fmt(new1m), `${fmt(old1mEst)} (old, est.)`, `${(old1mEst / new1m).toFixed(0)}x`);
  const withinNew = compileLikePattern(within);
  const withinOld = oldLike(within);
  const wOld9k = msPerCall(() => withinOld.test(a9k), 300, 20);
  const wNew9k = msPerCall(() => withinNew.test(a9k));
  row('worst within limits %a{253}_b% vs 9,000 a', fmt(wNew9k), `${fmt(wOld9k)} (old)`, `${(wOld9k / wNew9k).toFixed(0)}x`);
  const wOld1m = msPerCall(() => withinOld.test(a1m), 300, 1);
  const wNew1m = msPerCall(() => withinNew.test(a1m), 300, 10);
  row('worst within limits %a{253}_b% vs 1,000,000 a', fmt(wNew1m), `${fmt(wOld1m)} (old)`, `${(wOld1m / wNew1m).toFixed(0)}x`);
  const literal = `${'a'.repeat(2000)}b${'a'.repeat(1999)}`;
  const literalNew = compileLikePattern(`%${literal}%`);
  const lIndexOf = msPerCall(() => a1m.includes(literal), 300, 3);
  const lNew = msPerCall(() => literalNew.test(a1m), 300, 20);
  row('literal %a{2000}ba{1999}% vs 1,000,000 a (KMP)', fmt(lNew), `${fmt(lIndexOf)} (includes)`, `${(lIndexOf / lNew).toFixed(0)}x`);
  const text = 'The quick brown fox jumps over the lazy dog. '.repeat(200);
  const typicalNew = compileLikePattern('%lazy_cat%');
  const typicalOld = oldLike('%lazy_cat%');
  const tOld = msPerCall(() => typicalOld.test(text));
  const tNew = msPerCall(() => typicalNew.test(text));
  row('typical %lazy_cat% vs 9,000 characters of text', fmt(tNew), `${fmt(tOld)} (old)`, `${(tOld / tNew).toFixed(1)}x`);
  // The old matcher answered 'abc%' shapes with startsWith (a fast path kept here as the reference).
  const prefixNew = compileLikePattern('eu-%');
  const value = 'eu-west-1';
  const pRef = msPerCall(() => value.startsWith('eu-'));
  const pNew = msPerCall(() => prefixNew.test(value));
  row("typical 'eu-%' vs 'eu-west-1'", fmt(pNew), `${fmt(pRef)} (startsWith)`, `${(pRef / pNew).toFixed(1)}x`);
}

// ---- part 2: through a queue ----

/**
 * Sends MESSAGES messages with a 9,000-character property to a queue whose one consumer matches
 * none of them, then one it matches: msg/s until that last one is delivered (every message before
 * it evaluated, the dispatch continuing over later turns as it must).
 */
async function throughQueue(selector: string | null, hit: string, limits: { maxLikeSegment?: number } = {}, messages = MESSAGES): Promise<number> {
  const core = await Core.open({ store: new MemoryStore(), log: pino({ level: 'silent' }), selectorLimits: limits, globalMaxSizeBytes: -1 });
  try {
    const destination = { type: 'queue' as const, name: 'bench.selector' };
    let delivered!: () => void;
    const last = new Promise<void>((resolve) => (delivered = resolve));
    if (selector !== null) {
      const consumer = await core.createConsumer({ destination, selector, sink: { deliver: () => delivered() } });
      consumer.grant(1000);
    }
    const p = 'a'.repeat(9000);
    const t0 = performance.now();
    for (let i = 0; i < messages; i += 100) {
      const batch: Promise<unknown>[] = [];
      for (let k = i; k < Math.min(messages, i + 100); k++) batch.push(core.send({ destination, body: Buffer.from(`m${k}`), properties: { p } }));
      await Promise.all(batch);
    }
    await core.send({ destination, body: Buffer.from('hit'), properties: { p: hit } });
    if (selector !== null) await last;
    return ((messages + 1) / (performance.now() - t0)) * 1000;
  } finally {
    await core.close();
  }
}

async function queueRows(): Promise<void> {
  console.log(`\nselector worst case: msg/s through a queue whose one consumer's LIKE matches none of ${MESSAGES} messages (9,000-character property)`);
  row('consumer', 'msg/s', 'reference msg/s', 'ratio');
  // A first round warms the JIT up; the second is measured.
  const runs = async (): Promise<number[]> => [
    await throughQueue(null, 'x'),
    await throughQueue("p = 'x'", 'x'),
    await throughQueue(`p LIKE '%${'a'.repeat(253)}_b%'`, `${'a'.repeat(253)}xb`),
    // A tenth of the messages: at ~8 ms an evaluation the full count would take most of a minute.
    await throughQueue(`p LIKE '%${'a'.repeat(3997)}_b%'`, `${'a'.repeat(3997)}xb`, { maxLikeSegment: 4096 }, Math.ceil(MESSAGES / 10)),
  ];
  await runs();
  const [none, trivial, within, issue] = (await runs()) as [number, number, number, number];
  row("p = 'x' (trivial selector)", trivial.toFixed(0), `${none.toFixed(0)} (no consumer)`, (trivial / none).toFixed(2));
  row("p LIKE '%a{253}_b%' (worst within limits)", within.toFixed(0), `${trivial.toFixed(0)} (trivial)`, (within / trivial).toFixed(2));
  row("p LIKE '%a{3997}_b%' (issue's, limit lifted)", issue.toFixed(0), `${trivial.toFixed(0)} (trivial)`, (issue / trivial).toFixed(2));
  console.log('before the fix: 40 sends of this kind over STOMP took 62 s (every send re-evaluated the queue; test/e2e/stomp-hostile-selector.test.ts)');
}

const t0 = performance.now();
evaluations();
await queueRows();
console.log(`\nselector bench done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
