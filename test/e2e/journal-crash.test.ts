import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { BrokerProcess } from '../helpers/broker-process.ts';
import { RawStomp, type RawFrame } from '../helpers/raw-stomp.ts';

/*
 * Crash consistency of the journal: a broker in a child process takes persistent sends and acks
 * with receipts on three queues and two durable subscriptions of a topic, and is killed with
 * SIGKILL at a random moment of the traffic, several times, each time restarted on the same data
 * dir. The test keeps a model of what the broker confirmed (a RECEIPT for a SEND: stored; a RECEIPT
 * for an ACK: removal stored) and checks, during the rounds and in a final drain, that nothing
 * confirmed is lost, nothing whose ack was confirmed comes back, and each queue delivers in order.
 *
 * Reproduce a run with JOURNAL_CRASH_SEED=<seed> (the seed is in the test name): it fixes the kill
 * delays, ack choices and body sizes; the interleaving with the broker still varies. A SIGKILL
 * leaves the page cache intact, so this checks what the broker confirms and how it recovers, not
 * that fsync reaches the disk (that needs a power cut).
 */

const SEED = process.env.JOURNAL_CRASH_SEED !== undefined ? Number(process.env.JOURNAL_CRASH_SEED) : Math.floor(Math.random() * 2 ** 31);
/** Kills per run; JOURNAL_CRASH_ROUNDS raises it for a longer soak by hand. */
const ROUNDS = Number(process.env.JOURNAL_CRASH_ROUNDS ?? 4);
/** Each round the broker is killed between these many ms after producers start. */
const KILL_AFTER = { min: 100, max: 1500 } as const;
/** SENDs a producer keeps in flight (the broker confirms them in order). */
const WINDOW = 16;
/** A producer stops after this many sends in a round, to bound the test. */
const MAX_SENDS_PER_ROUND = 1500;
/** Share of deliveries acknowledged during the rounds (the rest stay unacked and must come back). */
const ACK_RATIO = 0.7;
/** Small segments, so rolling, dead-segment deletion and compaction all happen around the kills. */
const SEGMENT_SIZE = 64 * 1024;
const CLIENT_TIMEOUT = 15_000;

/** mulberry32: a small seeded PRNG, so a failing run's choices can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `Sends.sentIn` of the end markers of the drain and of the check after it. */
const MARKER = -1;

/** What the test knows about the sends to one destination. */
interface Sends {
  destination: string;
  nextSeq: number;
  /** Every seq a SEND was written for -> the round it was sent in. */
  sentIn: Map<number, number>;
  /** Seqs whose SEND got its RECEIPT: stored, so they must never be lost. */
  confirmed: Set<number>;
}

/** What the test knows about one queue or durable subscription. */
interface Stream {
  name: string;
  destination: string;
  clientId?: string;
  subscriptionName?: string;
  sends: Sends;
  /** Seqs an ACK was sent for (confirmed or not). */
  ackSent: Set<number>;
  /** Seqs whose ACK got its RECEIPT -> the round: their removal is stored, they must never come back. */
  acked: Map<number, number | 'drain'>;
  /** Seq -> the rounds it was delivered in. */
  deliveries: Map<number, Array<number | 'drain'>>;
  /** The final drain's deliveries, in order (the end marker excluded). */
  drained: number[];
  violations: string[];
}

function newSends(destination: string): Sends {
  return { destination, nextSeq: 0, sentIn: new Map(), confirmed: new Set() };
}

function newStream(name: string, destination: string, sends: Sends, durable?: { clientId: string; subscriptionName: string }): Stream {
  return { name, destination, sends, ...durable, ackSent: new Set(), acked: new Map(), deliveries: new Map(), drained: [], violations: [] };
}

const queueSends = ['crash.q0', 'crash.q1', 'crash.q2'].map((q) => newSends(`/queue/${q}`));
const topicSends = newSends('/topic/crash.t');
const allSends = [...queueSends, topicSends];
const streams: Stream[] = [
  ...queueSends.map((s) => newStream(s.destination, s.destination, s)),
  newStream('durable crash-a/sub-a', topicSends.destination, topicSends, { clientId: 'crash-a', subscriptionName: 'sub-a' }),
  newStream('durable crash-b/sub-b', topicSends.destination, topicSends, { clientId: 'crash-b', subscriptionName: 'sub-b' }),
];

let dir: string | undefined;
let broker: BrokerProcess | undefined;
/** Anything unexpected a client saw: an ERROR frame, a timeout, a failure before the kill. */
const anomalies: string[] = [];
const brokerLogs: string[] = [];

after(async () => {
  await broker?.kill();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** RawStomp leaves Nagle on; pipelined small frames would then wait for delayed TCP acks. */
async function connect(port: number, clientId?: string): Promise<RawStomp> {
  const c = await RawStomp.connect(port, connectHeaders(clientId), { timeout: CLIENT_TIMEOUT });
  c.socket.setNoDelay(true);
  return c;
}

function connectHeaders(clientId?: string): Record<string, string> {
  return { 'accept-version': '1.2', host: 'localhost', 'heart-beat': '0,0', ...(clientId !== undefined ? { 'client-id': clientId } : {}) };
}

/** Connects and subscribes (client-individual); the SUBSCRIBE receipt comes before any MESSAGE. */
async function subscribe(port: number, s: Stream): Promise<RawStomp> {
  const c = await connect(port, s.clientId);
  try {
    const headers: Record<string, string> = { id: 'sub-0', destination: s.destination, ack: 'client-individual', 'activemq.prefetchSize': '1000' };
    if (s.subscriptionName !== undefined) headers['activemq.subscriptionName'] = s.subscriptionName;
    await c.request('SUBSCRIBE', headers);
  } catch (err) {
    c.destroy();
    throw err;
  }
  return c;
}

/**
 * Checks one delivery against the model and returns its seq. `last` is the previous seq of this
 * consumer session: a session is the queue's only consumer and nothing is returned to the queue
 * while it lives, so its seqs must strictly increase (recovered messages in send order, then new).
 */
function onDelivery(s: Stream, f: RawFrame, round: number | 'drain', last: number): number {
  const seq = Number(f.header('seq'));
  const where = round === 'drain' ? 'in the final drain' : `in round ${round}`;
  if (f.command !== 'MESSAGE' || !Number.isInteger(seq)) {
    s.violations.push(`${s.name}: unexpected ${f.command} ${where}: ${f.header('message') ?? ''} ${f.text}`);
    return last;
  }
  if (!s.sends.sentIn.has(seq)) s.violations.push(`${s.name}: seq ${seq} delivered ${where} was never sent`);
  const ackedIn = s.acked.get(seq);
  if (ackedIn !== undefined) s.violations.push(`${s.name}: seq ${seq} came back ${where} although its ACK was confirmed in round ${ackedIn}`);
  if (seq <= last) s.violations.push(`${s.name}: seq ${seq} delivered ${where} after seq ${last} in the same session (order or duplicate)`);
  const rounds = s.deliveries.get(seq) ?? [];
  rounds.push(round);
  s.deliveries.set(seq, rounds);
  return seq;
}

/** A consumer during a round: acks part of what it gets, each ACK with a receipt; ends when the broker dies. */
async function consumeRound(c: RawStomp, s: Stream, round: number, rng: () => number): Promise<void> {
  let last = 0;
  for (;;) {
    const f = await c.nextFrame();
    last = onDelivery(s, f, round, last);
    if (f.command !== 'MESSAGE') throw new Error(`unexpected ${f.command}`);
    if (rng() < ACK_RATIO) {
      const seq = Number(f.header('seq'));
      s.ackSent.add(seq);
      await c.request('ACK', { id: f.header('ack') ?? '' });
      s.acked.set(seq, round);
    }
  }
}

/** A producer during a round: persistent SENDs with receipts, a window of them in flight, until the broker dies. */
async function produceRound(port: number, sends: Sends, round: number, rng: () => number): Promise<void> {
  const c = await connect(port);
  const inflight = new Set<Promise<void>>();
  let failure: unknown;
  try {
    for (let i = 0; i < MAX_SENDS_PER_ROUND && !c.isClosed && failure === undefined; i++) {
      const seq = ++sends.nextSeq;
      sends.sentIn.set(seq, round);
      const body = 'x'.repeat(Math.floor(rng() * 1500));
      const p: Promise<void> = c
        .request('SEND', { destination: sends.destination, persistent: 'true', seq: String(seq), round: String(round) }, body)
        .then(
          () => void sends.confirmed.add(seq),
          (err: unknown) => void (failure ??= err),
        )
        .finally(() => inflight.delete(p));
      inflight.add(p);
      if (inflight.size >= WINDOW) await Promise.race(inflight);
    }
    await Promise.all(inflight);
  } finally {
    c.destroy();
  }
  if (failure !== undefined) throw failure;
}

/** Errors a client may see because the broker was killed under it. */
const KILLED = /connection closed before|ECONNRESET|ECONNREFUSED|EPIPE/;

/** Runs a client task; after the kill, losing the connection is expected, anything else is an anomaly. */
function guard(what: string, task: Promise<void>, state: { killed: boolean }): Promise<void> {
  return task.then(
    () => undefined,
    (err: unknown) => {
      const message = err instanceof Error ? err.message : String(err);
      if (!state.killed || !KILLED.test(message)) anomalies.push(`${what}: ${message}${state.killed ? '' : ' (before the kill)'}`);
    },
  );
}

/** Sends one persistent end marker per destination; a consumer that receives it has received everything before it. */
async function sendMarkers(port: number, round: number | 'drain' | 'verify'): Promise<Map<Sends, number>> {
  const c = await connect(port);
  const markers = new Map<Sends, number>();
  try {
    for (const sends of allSends) {
      const seq = ++sends.nextSeq;
      sends.sentIn.set(seq, MARKER);
      await c.request('SEND', { destination: sends.destination, persistent: 'true', seq: String(seq), round: String(round), marker: 'true' });
      sends.confirmed.add(seq);
      markers.set(sends, seq);
    }
  } finally {
    c.destroy();
  }
  return markers;
}

/** Receives up to the end marker, acking everything with receipts; returns the seqs before the marker, in order. */
async function drain(c: RawStomp, s: Stream, marker: number): Promise<number[]> {
  const seen: number[] = [];
  let last = 0;
  for (;;) {
    const f = await c.nextFrame();
    const seq = onDelivery(s, f, 'drain', last);
    if (f.command !== 'MESSAGE') throw new Error(`${s.name}: unexpected ${f.command} in the drain: ${f.text}`);
    last = seq;
    s.ackSent.add(seq);
    await c.request('ACK', { id: f.header('ack') ?? '' });
    s.acked.set(seq, 'drain');
    if (seq === marker) return seen;
    seen.push(seq);
  }
}

function describe(s: Stream, seq: number): string {
  const round = s.sends.sentIn.get(seq);
  const sent = round === MARKER ? 'an end marker' : round === undefined ? 'never sent' : `sent in round ${round}`;
  const delivered = s.deliveries.get(seq);
  return (
    `seq ${seq} (${sent}, ${s.sends.confirmed.has(seq) ? 'confirmed' : 'unconfirmed'}, ` +
    `delivered in ${delivered ? delivered.join(',') : 'no round'}, ack ${s.acked.has(seq) ? `confirmed in round ${s.acked.get(seq)}` : s.ackSent.has(seq) ? 'sent, unconfirmed' : 'never sent'})`
  );
}

/** The journal's recovery log lines (segments, messages, truncated tail), for the diagnostics. */
function recoveryLines(output: string): string {
  return output
    .split('\n')
    .filter((l) => /"msg":"(journal recovered|journal tail truncated|corrupt journal record skipped|recovered from store)"/.test(l))
    .map((l) => {
      const { msg, segments, messages, queues, dropped } = JSON.parse(l) as Record<string, unknown>;
      return `${msg} ${JSON.stringify({ segments, messages, queues, dropped })}`;
    })
    .join('; ');
}

function summary(): string {
  const lines = streams.map((s) => {
    const confirmed = [...s.sends.confirmed].filter((q) => s.sends.sentIn.get(q) !== MARKER).length;
    return `${s.name}: sent ${s.sends.sentIn.size}, confirmed ${confirmed}, delivered ${s.deliveries.size} distinct, ack confirmed ${s.acked.size}, drained ${s.drained.length}`;
  });
  const tails = brokerLogs.map((log, i) => {
    const journal = log.split('\n').filter((l) => /journal|recovered|error|warn/i.test(l));
    return `--- broker run ${i} (journal/recovery lines)\n${journal.slice(-12).join('\n')}`;
  });
  return [`seed ${SEED} (rerun with JOURNAL_CRASH_SEED=${SEED})`, ...lines, ...tails].join('\n');
}

test(`persistent messages and acks survive SIGKILL at random moments (seed ${SEED})`, { timeout: 120_000 }, async (t) => {
  dir = await mkdtemp(path.join(tmpdir(), 'junction-crash-'));
  const dataDir = path.join(dir, 'data');
  const config = path.join(dir, 'junction.json');
  await writeFile(config, JSON.stringify({ store: { segmentSize: SEGMENT_SIZE } }));
  const rng = prng(SEED);
  const workerRng = (round: number, i: number) => prng(SEED ^ Math.imul(round * 16 + i + 1, 0x9e3779b1));

  broker = await BrokerProcess.start({ dataDir, args: ['--config', config] });
  for (let round = 0; round < ROUNDS; round++) {
    const port = broker.ports.stomp;
    const state = { killed: false };
    // Subscriptions first: in round 0 this creates the durable subscriptions before anything is published.
    const consumers = await Promise.all(streams.map((s) => subscribe(port, s)));
    const runs = [
      ...consumers.map((c, i) => guard(`round ${round} consumer ${streams[i]!.name}`, consumeRound(c, streams[i]!, round, workerRng(round, i)), state)),
      ...allSends.map((s, i) => guard(`round ${round} producer ${s.destination}`, produceRound(port, s, round, workerRng(round, 8 + i)), state)),
    ];
    const killAfter = Math.floor(KILL_AFTER.min + rng() * (KILL_AFTER.max - KILL_AFTER.min));
    await delay(killAfter);
    state.killed = true;
    const exit = await broker.kill();
    assert.equal(exit.signal, 'SIGKILL', `round ${round}: the broker should die of the SIGKILL, not exit by itself (code ${exit.code})\n${broker.output()}`);
    await Promise.all(runs);
    brokerLogs.push(broker.output());
    t.diagnostic(`round ${round}: killed after ${killAfter} ms; ${allSends.map((s) => `${s.destination} sent ${s.nextSeq} confirmed ${s.confirmed.size}`).join(', ')}`);
    broker = await broker.restart();
    t.diagnostic(`restart ${round}: ${recoveryLines(broker.output())}`);
  }

  // Final drain: every stream's consumer, then a marker per destination; the marker comes after everything recovered.
  const ackedBeforeDrain = streams.map((s) => new Set(s.acked.keys()));
  const ackSentBeforeDrain = streams.map((s) => new Set(s.ackSent));
  const port = broker.ports.stomp;
  const consumers = await Promise.all(streams.map((s) => subscribe(port, s)));
  const markers = await sendMarkers(port, 'drain');
  const drained = await Promise.all(consumers.map((c, i) => drain(c, streams[i]!, markers.get(streams[i]!.sends)!)));
  streams.forEach((s, i) => (s.drained = drained[i]!));
  for (const c of consumers) c.destroy();

  // Every ack of the drain was confirmed: after one more SIGKILL and restart, only a new marker may arrive.
  const exit = await broker.kill();
  assert.equal(exit.signal, 'SIGKILL');
  brokerLogs.push(broker.output());
  broker = await broker.restart();
  const verifyPort = broker.ports.stomp;
  const verifiers = await Promise.all(streams.map((s) => subscribe(verifyPort, s)));
  const verifyMarkers = await sendMarkers(verifyPort, 'verify');
  const firstAfterDrain = await Promise.all(verifiers.map(async (c) => Number((await c.nextFrame()).header('seq'))));
  for (const c of verifiers) c.destroy();
  brokerLogs.push(broker.output());

  const report = summary();
  t.diagnostic(report.split('\n').slice(0, streams.length + 1).join('; '));

  assert.deepEqual(anomalies, [], `client errors other than the kill:\n${report}`);
  streams.forEach((s, i) => {
    const confirmed = [...s.sends.confirmed].filter((q) => s.sends.sentIn.get(q) !== MARKER);
    assert.ok(confirmed.length > 0, `${s.name}: no SEND was ever confirmed, the test exercised nothing\n${report}`);
    const drainedSet = new Set(s.drained);
    // An ACK sent without its RECEIPT may or may not have been stored: only never-acked messages must come back.
    const lost = confirmed.filter((q) => !ackSentBeforeDrain[i]!.has(q) && !drainedSet.has(q)).sort((a, b) => a - b);
    assert.deepEqual(lost.map((q) => describe(s, q)), [], `${s.name}: confirmed messages lost\n${report}`);
    const resurrected = s.drained.filter((q) => ackedBeforeDrain[i]!.has(q));
    assert.deepEqual(resurrected.map((q) => describe(s, q)), [], `${s.name}: messages whose ACK was confirmed came back\n${report}`);
    assert.equal(drainedSet.size, s.drained.length, `${s.name}: duplicates in the final drain: ${s.drained.join(',')}\n${report}`);
    const outOfOrder = s.drained.filter((q, k) => k > 0 && q <= s.drained[k - 1]!);
    assert.deepEqual(outOfOrder, [], `${s.name}: the final drain is not in send order\n${report}`);
    assert.deepEqual(s.violations, [], `${s.name}: violations during the rounds\n${report}`);
    const expectedFirst = verifyMarkers.get(s.sends);
    assert.equal(firstAfterDrain[i], expectedFirst, `${s.name}: after the drain and a restart, seq ${firstAfterDrain[i]} arrived before the new marker ${expectedFirst}: ${describe(s, firstAfterDrain[i]!)}\n${report}`);
  });
});
