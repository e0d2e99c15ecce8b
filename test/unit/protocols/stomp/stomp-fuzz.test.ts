import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { StompFrameError } from '../../../../src/errors.ts';
import { encodeFrame } from '../../../../src/protocols/stomp/encoder.ts';
import type { StompFrame, StompVersion } from '../../../../src/protocols/stomp/frame.ts';
import { StompParser, type StompLimits } from '../../../../src/protocols/stomp/parser.ts';
import { fuzzCases, fuzzSeed, Rng } from '../../../helpers/fuzz.ts';

// A seeded fuzz pass over the STOMP codec (issue 11). `npm test` runs a few thousand cases with the
// fixed seeds below; `npm run fuzz` runs FUZZ_CASES of them (FUZZ_SEED picks another seed). A failure
// names the seed and the case that reproduce it.
//
// Decoder: mutations of valid frames, fed whole and split at random offsets, yield frames or a
// StompFrameError, never anything else; the split does not change the outcome; every header that
// comes out is text a frame may carry (no NUL, no U+FFFD the input did not hold as UTF-8).
// Encoder: for any header names and values, what it writes parses back as exactly one frame, with
// the same text in 1.1 and 1.2 (but for NUL, which no version carries) and the documented
// replacements in 1.0.

const VERSIONS: readonly StompVersion[] = ['1.0', '1.1', '1.2'];
const LIMITS: StompLimits = { maxHeaderBytes: 2048, maxHeaders: 32, maxBodyBytes: 4096, maxCommandLength: 64 };

/** Valid frames of every kind the broker reads, to mutate. */
const SEEDS: Buffer[] = [
  'CONNECT\naccept-version:1.0,1.1,1.2\nhost:localhost\nlogin:ü:ser\npasscode:p\\w\nheart-beat:1000,1000\n\n\0',
  'STOMP\r\naccept-version:1.2\r\nhost:h\r\n\r\n\0\r\n',
  'SEND\ndestination:/queue/a\\cb\ncontent-type:text/plain\ncontent-length:5\nreceipt:7\n\nab\0cd\0',
  'SEND\ndestination:/topic/€\nx:1\nx:2\nk\\n:v\\\\\\r\n\nhello\0\n\n',
  'SUBSCRIBE\nid:0\ndestination:/queue/q\nack:client-individual\nselector:a = \'b\'\nactivemq.prefetchSize:10\n\n\0',
  'ACK\nid:12\ntransaction:tx\n\n\0NACK\nid:13\n\n\0',
  'BEGIN\ntransaction:t\n\n\0COMMIT\ntransaction:t\nreceipt:r\n\n\0ABORT\ntransaction:t\n\n\0',
  'UNSUBSCRIBE\nid:0\n\n\0DISCONNECT\nreceipt:77\n\n\0',
  '\n\n\r\nSEND\ndestination:/queue/b\ncontent-length:0\n\n\0',
].map((s) => Buffer.from(s));

function makeParser(version: StompVersion): StompParser {
  const p = new StompParser(LIMITS);
  p.version = version;
  return p;
}

interface Outcome {
  frames: StompFrame[];
  error?: string;
}

/** Feeds `chunks` to a fresh parser; anything thrown that is not a StompFrameError fails the case. */
function run(chunks: Buffer[], version: StompVersion, where: string): Outcome {
  const p = makeParser(version);
  const frames: StompFrame[] = [];
  try {
    for (const c of chunks) p.feed(c, (f) => frames.push(f));
  } catch (e) {
    if (!(e instanceof StompFrameError)) throw new Error(`${where}: threw ${String(e)}`, { cause: e });
    assert.ok(e.code === 'ERR_STOMP_MALFORMED' || e.code === 'ERR_STOMP_LIMIT', `${where}: code ${e.code}`);
    return { frames, error: e.code };
  }
  return { frames };
}

function splitAt(rng: Rng, b: Buffer): Buffer[] {
  const cuts = new Set<number>();
  const n = rng.int(5);
  for (let i = 0; i < n; i++) cuts.add(rng.int(b.length + 1));
  const sorted = [...cuts].sort((x, y) => x - y);
  const out: Buffer[] = [];
  let from = 0;
  for (const c of sorted) {
    out.push(b.subarray(from, c));
    from = c;
  }
  out.push(b.subarray(from));
  return out;
}

/** Header text that a frame may carry: no NUL (it ends frames) and no lone surrogate. */
function assertCarriable(s: string, where: string): void {
  assert.ok(!s.includes('\0'), `${where}: NUL in ${JSON.stringify(s)}`);
  assert.ok(Buffer.from(s, 'utf8').toString('utf8') === s, `${where}: not well-formed text ${JSON.stringify(s)}`);
}

describe('STOMP decoder fuzz', () => {
  const seed = fuzzSeed(0x570b);
  const cases = fuzzCases(3000);
  test(`${cases} mutated frames, whole and split, yield frames or a StompFrameError (seed ${seed})`, () => {
    const rng = new Rng(seed);
    for (let i = 0; i < cases; i++) {
      const version = rng.pick(VERSIONS);
      // Mostly one mutated seed; sometimes two seeds back to back, so a mutation can run into the next frame.
      let input = rng.mutate(rng.pick(SEEDS));
      if (rng.int(4) === 0) input = Buffer.concat([input, rng.mutate(rng.pick(SEEDS))]);
      const where = `seed ${seed} case ${i} (STOMP ${version}, input ${input.toString('hex')})`;
      const whole = run([input], version, where);
      const split = run(splitAt(rng, input), version, where);
      assert.deepEqual(split, whole, `${where}: splitting changed the outcome`);
      for (const f of whole.frames) {
        assertCarriable(f.command, where);
        assert.ok(f.body.length <= LIMITS.maxBodyBytes, `${where}: body over the limit`);
        assert.ok(f.headers.length <= LIMITS.maxHeaders, `${where}: headers over the limit`);
        for (const [k, v] of f.headers) {
          assertCarriable(k, where);
          assertCarriable(v, where);
          assert.ok(k.length > 0, `${where}: empty header name`);
        }
      }
    }
  });
});

/** Characters that stress the encoder: every special of every version, multi-byte text, a lone surrogate. */
const ALPHABET = ['a', 'Z', '0', ' ', ':', '\\', '\n', '\r', '\0', '\t', 'c', 'n', 'r', 'é', '€', '😀', '\uFFFD', '\uD800', '\x7f', '\x01'];

function randomText(rng: Rng, max: number): string {
  let s = '';
  const n = rng.int(max + 1);
  for (let i = 0; i < n; i++) s += rng.int(3) === 0 ? String.fromCharCode(rng.int(0x10000)) : rng.pick(ALPHABET);
  return s;
}

/** What a header text becomes on the wire and back, per the encoder's documented replacements. */
function expected(s: string, version: StompVersion, isName: boolean): string {
  // Lone surrogates cannot be UTF-8: the encoding writes U+FFFD for them.
  let out = Buffer.from(s, 'utf8').toString('utf8').replace(/\0/g, '\uFFFD');
  if (version === '1.0') out = out.replace(isName ? /[\r\n:]/g : /[\r\n]/g, ' ');
  if (version === '1.1') out = out.replace(/\r/g, ' ');
  return out;
}

describe('STOMP encoder fuzz', () => {
  const seed = fuzzSeed(0xe2c0);
  const cases = fuzzCases(3000);
  test(`${cases} frames with arbitrary header text each encode to exactly one frame that parses back (seed ${seed})`, () => {
    const rng = new Rng(seed);
    for (let i = 0; i < cases; i++) {
      const version = rng.pick(VERSIONS);
      const headers: Array<[string, string]> = [];
      const n = rng.int(6);
      for (let h = 0; h < n; h++) headers.push([randomText(rng, 12), randomText(rng, 24)]);
      const body = rng.int(3) === 0 ? Buffer.alloc(0) : rng.bytes(rng.int(64));
      const frame: StompFrame = { command: rng.pick(['MESSAGE', 'ERROR', 'RECEIPT']), headers, body };
      const where = `seed ${seed} case ${i} (STOMP ${version}, headers ${JSON.stringify(headers)})`;
      const wire = encodeFrame(frame, version);
      // Split at random too: a consumer's reads never line up with frames.
      const got = run(splitAt(rng, wire), version, where);
      assert.equal(got.error, undefined, `${where}: the broker's own frame did not parse: ${got.error}`);
      assert.equal(got.frames.length, 1, `${where}: ${got.frames.length} frames`);
      const f = got.frames[0]!;
      assert.equal(f.command, frame.command);
      assert.ok(f.body.equals(body), `${where}: body differs`);
      const want = headers.filter(([k]) => k.length > 0).map(([k, v]) => [expected(k, version, true), expected(v, version, false)]);
      if (body.length > 0) want.push(['content-length', String(body.length)]);
      assert.deepEqual(f.headers, want, where);
    }
  });
});
