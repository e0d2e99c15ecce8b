import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { StompFrameError } from '../../../../src/errors.ts';
import { header, type StompFrame, type StompVersion } from '../../../../src/protocols/stomp/frame.ts';
import { encodeFrame, HEARTBEAT } from '../../../../src/protocols/stomp/encoder.ts';
import { DEFAULT_STOMP_LIMITS, StompParser, type StompLimits } from '../../../../src/protocols/stomp/parser.ts';

const EMPTY = Buffer.alloc(0);

function frame(command: string, headers: Array<[string, string]> = [], body: Buffer | string = EMPTY): StompFrame {
  return { command, headers, body: typeof body === 'string' ? Buffer.from(body) : body };
}

function parser(version: StompVersion = '1.2', limits: StompLimits = DEFAULT_STOMP_LIMITS): StompParser {
  const p = new StompParser(limits);
  p.version = version;
  return p;
}

/** Parses `wire` fed as the given chunks into a fresh parser. */
function parseChunks(chunks: Buffer[], version: StompVersion = '1.2', limits?: StompLimits): StompFrame[] {
  const p = parser(version, limits);
  return chunks.flatMap((c) => p.push(c));
}

function parse(wire: string | Buffer, version: StompVersion = '1.2', limits?: StompLimits): StompFrame[] {
  return parseChunks([typeof wire === 'string' ? Buffer.from(wire) : wire], version, limits);
}

function parseOne(wire: string | Buffer, version: StompVersion = '1.2'): StompFrame {
  const frames = parse(wire, version);
  assert.equal(frames.length, 1);
  return frames[0]!;
}

function bytewise(wire: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < wire.length; i++) out.push(wire.subarray(i, i + 1));
  return out;
}

/** The error `fn` throws, asserted to be a StompFrameError with `code`. */
function expectError(fn: () => unknown, code: 'ERR_STOMP_MALFORMED' | 'ERR_STOMP_LIMIT', message?: RegExp): StompFrameError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof StompFrameError, `expected StompFrameError, got ${String(caught)}`);
  assert.equal(caught.code, code);
  if (message) assert.match(caught.message, message);
  return caught;
}

const smallLimits: StompLimits = { maxHeaderBytes: 64, maxHeaders: 4, maxBodyBytes: 16, maxCommandLength: 16 };

/** A stream mixing most features: CRLF, heart-beats, NULs in bodies, escapes, UTF-8, repeats. */
const corpus = Buffer.concat([
  Buffer.from('\n\r\n'),
  Buffer.from('CONNECT\r\naccept-version:1.2\r\nhost:a\\b\r\nlogin:ünï:cødé\r\n\r\n\0\r\n'),
  Buffer.from('SEND\ndestination:/queue/a\\cb\ncontent-length:5\nx:1\nx:2\n\nab\0cd\0\n\n'),
  Buffer.from('SUBSCRIBE\nid:0\ndestination:/topic/€\\n\\r\\\\\n\n\0'),
  Buffer.from('DISCONNECT\nreceipt:77\n\n\0'),
]);

describe('encodeFrame', () => {
  test('writes command, headers, blank line, body and NUL, adding content-length', () => {
    const wire = encodeFrame(frame('SEND', [['destination', '/queue/a']], 'hi'), '1.2');
    assert.equal(wire.toString(), 'SEND\ndestination:/queue/a\ncontent-length:2\n\nhi\0');
  });

  test('adds no content-length to an empty body', () => {
    const wire = encodeFrame(frame('RECEIPT', [['receipt-id', '1']]), '1.2');
    assert.equal(wire.toString(), 'RECEIPT\nreceipt-id:1\n\n\0');
  });

  test('adds no content-length when opts.contentLength is false', () => {
    const wire = encodeFrame(frame('MESSAGE', [], 'hi'), '1.2', { contentLength: false });
    assert.equal(wire.toString(), 'MESSAGE\n\nhi\0');
  });

  test('keeps an existing matching content-length without adding another', () => {
    const wire = encodeFrame(frame('MESSAGE', [['content-length', '2']], 'hi'), '1.2');
    assert.equal(wire.toString(), 'MESSAGE\ncontent-length:2\n\nhi\0');
  });

  test('rejects an existing content-length that does not match the body', () => {
    expectError(() => encodeFrame(frame('MESSAGE', [['content-length', '3']], 'hi'), '1.2'), 'ERR_STOMP_MALFORMED', /does not match/);
  });

  test('rejects a body containing NUL when content-length is suppressed', () => {
    const body = Buffer.from([1, 0, 2]);
    expectError(() => encodeFrame(frame('MESSAGE', [], body), '1.2', { contentLength: false }), 'ERR_STOMP_MALFORMED', /NUL/);
  });

  test('rejects a command containing an EOL', () => {
    expectError(() => encodeFrame(frame('SEND\nX'), '1.2'), 'ERR_STOMP_MALFORMED', /command/);
  });

  test('1.0 writes header text verbatim', () => {
    const wire = encodeFrame(frame('MESSAGE', [['a\\b', 'c:d\\n']]), '1.0');
    assert.equal(wire.toString(), 'MESSAGE\na\\b:c:d\\n\n\n\0');
  });

  test('1.0 writes line breaks in names and values, and a colon in a name, as spaces', () => {
    const wire = encodeFrame(frame('MESSAGE', [['a:b\n', 'b\nc\r\nd:e\r']]), '1.0');
    assert.equal(wire.toString(), 'MESSAGE\na b :b c  d:e \n\n\0');
  });

  test('every version writes a NUL in header text as U+FFFD (no version can carry it)', () => {
    for (const version of ['1.0', '1.1', '1.2'] as const) {
      const wire = encodeFrame(frame('MESSAGE', [['n\0', 'v\0RECEIPT']]), version);
      assert.equal(wire.toString(), 'MESSAGE\nn\uFFFD:v\uFFFDRECEIPT\n\n\0', version);
      assert.equal(wire.indexOf(0), wire.length - 1, `${version}: the frame's NUL is its only one`);
    }
  });

  test('leaves out a header with an empty name', () => {
    const wire = encodeFrame(frame('MESSAGE', [['', 'v'], ['k', 'w']]), '1.2');
    assert.equal(wire.toString(), 'MESSAGE\nk:w\n\n\0');
  });

  test('1.1 escapes backslash, LF and colon in names and values', () => {
    const wire = encodeFrame(frame('MESSAGE', [['k:\\', 'v\n:\\']]), '1.1');
    assert.equal(wire.toString(), 'MESSAGE\nk\\c\\\\:v\\n\\c\\\\\n\n\0');
  });

  test('1.1 writes a CR, which it cannot escape, as a space', () => {
    const wire = encodeFrame(frame('MESSAGE', [['a\r', 'b\rc\r']]), '1.1');
    assert.equal(wire.toString(), 'MESSAGE\na :b c \n\n\0');
  });

  test('1.2 also escapes CR', () => {
    const wire = encodeFrame(frame('MESSAGE', [['k', 'a\rb\r']]), '1.2');
    assert.equal(wire.toString(), 'MESSAGE\nk:a\\rb\\r\n\n\0');
  });

  test('CONNECT and CONNECTED headers are never escaped', () => {
    for (const command of ['CONNECT', 'CONNECTED']) {
      const wire = encodeFrame(frame(command, [['passcode', 'a\\b:c']]), '1.2');
      assert.equal(wire.toString(), `${command}\npasscode:a\\b:c\n\n\0`);
    }
  });

  test('encodes UTF-8 header text', () => {
    const wire = encodeFrame(frame('MESSAGE', [['dest', '/q/€']]), '1.2');
    assert.deepEqual(wire, Buffer.from('MESSAGE\ndest:/q/€\n\n\0'));
  });

  test('HEARTBEAT is a single LF', () => {
    assert.deepEqual(HEARTBEAT, Buffer.from([0x0a]));
  });
});

describe('StompParser: frames', () => {
  for (const version of ['1.0', '1.1', '1.2'] as const) {
    test(`round-trips encoded frames in ${version}`, () => {
      const special = version === '1.0' ? 'a:b\\c' : 'a:b\\c\nd' + (version === '1.2' ? '\re\r' : '');
      const frames = [
        frame('SEND', [['destination', '/queue/a'], ['x', special], ['x', 'second']], Buffer.from([0, 1, 0, 2])),
        frame('SUBSCRIBE', [['id', '0'], ['destination', '/topic/ü']]),
        frame('CONNECT', [['accept-version', '1.0,1.1,1.2'], ['passcode', 'p\\w:d']]),
        frame('ACK', [], 'text body'),
      ];
      const wire = Buffer.concat(frames.map((f) => encodeFrame(f, version)));
      const parsed = parse(wire, version);
      const expected = frames.map((f) => (f.body.length > 0 ? { ...f, headers: [...f.headers, ['content-length', String(f.body.length)]] } : f));
      assert.deepEqual(parsed, expected);
    });
  }

  test('parses a frame without headers or body', () => {
    assert.deepEqual(parseOne('DISCONNECT\n\n\0'), frame('DISCONNECT'));
  });

  test('without content-length the body runs to the first NUL', () => {
    const frames = parse('SEND\n\nhello\0world\0');
    assert.deepEqual(frames.map((f) => f.body.toString()), ['hello']);
  });

  test('with content-length the body may contain NULs', () => {
    const f = parseOne(Buffer.concat([Buffer.from('SEND\ncontent-length:4\n\n'), Buffer.from([0, 9, 0, 0]), Buffer.from([0])]));
    assert.deepEqual(f.body, Buffer.from([0, 9, 0, 0]));
  });

  test('accepts content-length 0', () => {
    assert.equal(parseOne('SEND\ncontent-length:0\n\n\0').body.length, 0);
  });

  test('the first content-length wins when repeated', () => {
    const f = parseOne('SEND\ncontent-length:2\ncontent-length:bogus\n\na\0\0');
    assert.deepEqual(f.body, Buffer.from('a\0'));
  });

  test('accepts CRLF line endings', () => {
    const f = parseOne('SEND\r\ndestination:/q\r\nk:v\r\n\r\nbody\0');
    assert.deepEqual(f, frame('SEND', [['destination', '/q'], ['k', 'v']], 'body'));
  });

  test('keeps a CR inside a header value, dropping only the CR of the EOL', () => {
    const f = parseOne('SEND\nk:a\rb\r\n\n\0', '1.0');
    assert.deepEqual(f.headers, [['k', 'a\rb']]);
  });

  test('keeps repeated headers in order; header() returns the first', () => {
    const f = parseOne('MESSAGE\nfoo:1\nbar:x\nfoo:2\n\n\0');
    assert.deepEqual(f.headers, [['foo', '1'], ['bar', 'x'], ['foo', '2']]);
    assert.equal(header(f, 'foo'), '1');
  });

  test('only the first colon separates name from value', () => {
    assert.deepEqual(parseOne('SEND\nurl:tcp://h:1\n\n\0', '1.0').headers, [['url', 'tcp://h:1']]);
    assert.deepEqual(parseOne('SEND\nurl:tcp://h:1\n\n\0', '1.2').headers, [['url', 'tcp://h:1']]);
  });

  test('accepts an empty header value', () => {
    assert.deepEqual(parseOne('SEND\nk:\n\n\0').headers, [['k', '']]);
  });

  test('decodes header names and values as UTF-8', () => {
    assert.deepEqual(parseOne('SEND\nnäme:€ü\n\n\0').headers, [['näme', '€ü']]);
  });

  test('passes a junk UTF-8 command line through as a string (the session answers Unknown command)', () => {
    const f = parseOne(Buffer.from([0xc3, 0xbf, 0x01, 0x41, 0x0a, 0x0a, 0x00]));
    assert.equal(f.command, '\u00ff\u0001A');
  });

  test('rejects a command line that is not UTF-8 or holds a NUL', () => {
    expectError(() => parse(Buffer.from([0xff, 0x01, 0x41, 0x0a, 0x0a, 0x00])), 'ERR_STOMP_MALFORMED', /command is not valid UTF-8/);
    expectError(() => parse(Buffer.from('SE\0ND\n\n\0')), 'ERR_STOMP_MALFORMED', /command contains NUL/);
  });

  test('parses several frames from one chunk', () => {
    const frames = parse('SEND\n\na\0SEND\n\nb\0\nSEND\ncontent-length:1\n\nc\0');
    assert.deepEqual(frames.map((f) => f.body.toString()), ['a', 'b', 'c']);
  });

  test('returns the body as a copy that does not share the input chunk', () => {
    const wire = Buffer.from('SEND\n\nabc\0');
    const f = parseOne(wire);
    wire.fill(0x78);
    assert.equal(f.body.toString(), 'abc');
  });
});

describe('StompParser: heart-beats', () => {
  test('skips and counts LF and CRLF between frames', () => {
    const p = parser();
    const frames = p.push(Buffer.from('\n\r\n\nSEND\n\n\0\n\r\nSEND\n\n\0'));
    assert.equal(frames.length, 2);
    assert.equal(p.heartbeats, 5);
  });

  test('counts a CRLF heart-beat split between chunks once', () => {
    const p = parser();
    p.push(Buffer.from('\r'));
    p.push(Buffer.from('\n'));
    assert.equal(p.heartbeats, 1);
  });

  test('a CR not followed by LF between frames starts the command line, however split', () => {
    const wire = Buffer.from('\rSEND\n\n\0');
    assert.equal(parseOne(wire).command, '\rSEND');
    assert.equal(parseChunks([wire.subarray(0, 1), wire.subarray(1)])[0]!.command, '\rSEND');
  });

  test('a heart-beat alone yields no frame', () => {
    const p = parser();
    assert.deepEqual(p.push(HEARTBEAT), []);
    assert.equal(p.heartbeats, 1);
  });
});

describe('StompParser: chunking', () => {
  const expected = parse(corpus);

  test('the corpus parses into its frames', () => {
    assert.deepEqual(expected.map((f) => f.command), ['CONNECT', 'SEND', 'SUBSCRIBE', 'DISCONNECT']);
    assert.deepEqual(expected[0]!.headers[1], ['host', 'a\\b']);
    assert.deepEqual(expected[1]!.headers[0], ['destination', '/queue/a:b']);
    assert.deepEqual(expected[2]!.headers[1], ['destination', '/topic/€\n\r\\']);
  });

  test('fed one byte at a time yields identical frames', () => {
    const p = parser();
    const frames = bytewise(corpus).flatMap((c) => p.push(c));
    assert.deepEqual(frames, expected);
    assert.equal(p.heartbeats, parseHeartbeats(corpus));
  });

  test('split at every offset yields identical frames', () => {
    for (let i = 0; i <= corpus.length; i++) {
      const frames = parseChunks([corpus.subarray(0, i), corpus.subarray(i)]);
      assert.deepEqual(frames, expected, `split at ${i}`);
    }
  });

  test('split at every pair of offsets yields identical frames', () => {
    const wire = corpus.subarray(0, 120);
    const whole = parse(wire);
    for (let i = 0; i <= wire.length; i++) {
      for (let j = i; j <= wire.length; j++) {
        const frames = parseChunks([wire.subarray(0, i), wire.subarray(i, j), wire.subarray(j)]);
        assert.deepEqual(frames, whole, `split at ${i},${j}`);
      }
    }
  });

  test('a limit violation is reported identically at every split', () => {
    const wire = Buffer.from('SEND\na:1\nb:2\nc:3\nd:4\ne:5\n\n\0');
    const error = expectError(() => parse(wire, '1.2', smallLimits), 'ERR_STOMP_LIMIT');
    for (let i = 0; i <= wire.length; i++) {
      const e = expectError(() => parseChunks([wire.subarray(0, i), wire.subarray(i)], '1.2', smallLimits), 'ERR_STOMP_LIMIT');
      assert.equal(e.message, error.message, `split at ${i}`);
    }
  });
});

function parseHeartbeats(wire: Buffer): number {
  const p = parser();
  p.push(wire);
  return p.heartbeats;
}

describe('StompParser: escaping', () => {
  test('1.1 decodes \\n, \\c and \\\\ in names and values', () => {
    assert.deepEqual(parseOne('SEND\nk\\c\\\\:a\\nb\\cc\\\\d\n\n\0', '1.1').headers, [['k:\\', 'a\nb:c\\d']]);
  });

  test('1.2 decodes \\r', () => {
    assert.deepEqual(parseOne('SEND\nk:a\\rb\n\n\0', '1.2').headers, [['k', 'a\rb']]);
  });

  test('1.1 rejects \\r, which only 1.2 defines', () => {
    expectError(() => parse('SEND\nk:a\\rb\n\n\0', '1.1'), 'ERR_STOMP_MALFORMED', /escape/);
  });

  test('1.2 rejects an undefined escape such as \\t', () => {
    expectError(() => parse('SEND\nk:a\\tb\n\n\0', '1.2'), 'ERR_STOMP_MALFORMED', /\\\\t/);
  });

  test('rejects a value ending in a lone backslash', () => {
    expectError(() => parse('SEND\nk:a\\\n\n\0', '1.2'), 'ERR_STOMP_MALFORMED', /backslash/);
  });

  test('1.0 leaves backslashes alone', () => {
    assert.deepEqual(parseOne('SEND\nk:a\\tb\\n\n\n\0', '1.0').headers, [['k', 'a\\tb\\n']]);
  });

  test('CONNECT, STOMP and CONNECTED headers are not unescaped', () => {
    for (const command of ['CONNECT', 'STOMP', 'CONNECTED']) {
      assert.deepEqual(parseOne(`${command}\npasscode:a\\tb\\c\n\n\0`, '1.2').headers, [['passcode', 'a\\tb\\c']]);
    }
  });

  test('a version set while handling CONNECT applies to the frame pipelined behind it', () => {
    const p = parser('1.0');
    const seen: StompFrame[] = [];
    p.feed(Buffer.from('CONNECT\naccept-version:1.2\n\n\0SEND\nk:a\\cb\n\n\0'), (f) => {
      seen.push(f);
      if (f.command === 'CONNECT') p.version = '1.2';
    });
    assert.deepEqual(seen[1]!.headers, [['k', 'a:b']]);
  });
});

describe('StompParser: malformed frames', () => {
  test('rejects a header line without a colon', () => {
    expectError(() => parse('SEND\nnocolon\n\n\0'), 'ERR_STOMP_MALFORMED', /without ":"/);
  });

  test('rejects a header line with an empty name', () => {
    expectError(() => parse('SEND\n:v\n\n\0'), 'ERR_STOMP_MALFORMED', /empty name/);
  });

  test('rejects a content-length that is not a non-negative integer', () => {
    for (const bad of ['-1', 'abc', '1.5', '', ' 1', '0x10', '1e3']) {
      expectError(() => parse(`SEND\ncontent-length:${bad}\n\n\0`), 'ERR_STOMP_MALFORMED', /content-length/);
    }
  });

  test('rejects a NUL in a header name or value, in every version and split anywhere', () => {
    for (const version of ['1.0', '1.1', '1.2'] as const) {
      for (const wire of ['SEND\nk:a\0RECEIPT\n\nx\0', 'SEND\nk\0RECEIPT:v\n\nx\0', 'CONNECT\nlogin:a\0b\n\n\0']) {
        expectError(() => parse(wire, version), 'ERR_STOMP_MALFORMED', /NUL/);
        expectError(() => parseChunks(bytewise(Buffer.from(wire)), version), 'ERR_STOMP_MALFORMED', /NUL/);
      }
    }
  });

  test('rejects header text that is not UTF-8, and accepts a genuine U+FFFD', () => {
    for (const bad of ['k:\xff', 'k\xc3\x28:v', 'k:\xed\xa0\x80', 'k:\xe2\x82', 'destination:/queue/\xc0\xaf']) {
      const wire = Buffer.from(`SEND\n${bad}\n\nx\0`, 'latin1');
      expectError(() => parse(wire), 'ERR_STOMP_MALFORMED', /not valid UTF-8/);
      expectError(() => parseChunks(bytewise(wire)), 'ERR_STOMP_MALFORMED', /not valid UTF-8/);
    }
    const ok = parseOne(Buffer.from('SEND\nk\uFFFD:\uFFFDv\n\nx\0'));
    assert.deepEqual(ok.headers, [['k\uFFFD', '\uFFFDv']]);
  });

  test('rejects a content-length body not followed by NUL', () => {
    expectError(() => parse('SEND\ncontent-length:2\n\nabc\0'), 'ERR_STOMP_MALFORMED', /not followed by NUL/);
  });

  test('after an error the parser is dead', () => {
    const p = parser();
    expectError(() => p.push(Buffer.from('SEND\nbad\n')), 'ERR_STOMP_MALFORMED');
    expectError(() => p.push(Buffer.from('\n\0')), 'ERR_STOMP_MALFORMED', /closed/);
  });

  test('feed delivers the frames before a bad one, then throws', () => {
    const p = parser();
    const seen: string[] = [];
    expectError(() => p.feed(Buffer.from('SEND\n\na\0SEND\nbad\n\n\0'), (f) => seen.push(f.body.toString())), 'ERR_STOMP_MALFORMED');
    assert.deepEqual(seen, ['a']);
  });

  test('a throwing frame handler propagates its error and kills the parser', () => {
    const p = parser();
    const boom = new Error('boom');
    assert.throws(
      () =>
        p.feed(Buffer.from('SEND\n\n\0'), () => {
          throw boom;
        }),
      boom,
    );
    expectError(() => p.push(Buffer.from('SEND\n\n\0')), 'ERR_STOMP_MALFORMED', /closed/);
  });
});

describe('StompParser: limits', () => {
  test('accepts a header section of exactly maxHeaderBytes', () => {
    // Header section = 'k:' + value + '\n' + '\n' (the blank line).
    const value = 'v'.repeat(smallLimits.maxHeaderBytes - 4);
    assert.equal(parse(`SEND\nk:${value}\n\n\0`, '1.2', smallLimits).length, 1);
  });

  test('rejects a header section over maxHeaderBytes', () => {
    const value = 'v'.repeat(smallLimits.maxHeaderBytes - 3);
    expectError(() => parse(`SEND\nk:${value}\n\n\0`, '1.2', smallLimits), 'ERR_STOMP_LIMIT', /header section/);
  });

  test('rejects an endless header line before its LF arrives', () => {
    const p = parser('1.2', smallLimits);
    p.push(Buffer.from('SEND\nk:'));
    expectError(() => p.push(Buffer.alloc(smallLimits.maxHeaderBytes, 0x76)), 'ERR_STOMP_LIMIT', /header section/);
  });

  test('rejects more than maxHeaders headers', () => {
    expectError(() => parse('SEND\na:1\nb:2\nc:3\nd:4\ne:5\n\n\0', '1.2', smallLimits), 'ERR_STOMP_LIMIT', /more than 4 headers/);
  });

  test('accepts exactly maxHeaders headers', () => {
    assert.equal(parse('SEND\na:1\nb:2\nc:3\nd:4\n\n\0', '1.2', smallLimits).length, 1);
  });

  test('accepts a body of exactly maxBodyBytes', () => {
    const body = 'b'.repeat(smallLimits.maxBodyBytes);
    assert.equal(parse(`SEND\n\n${body}\0SEND\ncontent-length:16\n\n${body}\0`, '1.2', smallLimits).length, 2);
  });

  test('rejects a content-length over maxBodyBytes before any body arrives', () => {
    expectError(() => parse('SEND\ncontent-length:17\n', '1.2', smallLimits), 'ERR_STOMP_LIMIT', /content-length 17/);
  });

  test('rejects a huge content-length as over the limit', () => {
    expectError(() => parse(`SEND\ncontent-length:${'9'.repeat(40)}\n`, '1.2', smallLimits), 'ERR_STOMP_LIMIT', /content-length/);
  });

  test('rejects a body without content-length as soon as it exceeds maxBodyBytes', () => {
    const p = parser('1.2', smallLimits);
    p.push(Buffer.from('SEND\n\n'));
    p.push(Buffer.alloc(smallLimits.maxBodyBytes, 0x62));
    expectError(() => p.push(Buffer.from('b')), 'ERR_STOMP_LIMIT', /body exceeds/);
  });

  test('accepts a command line of exactly maxCommandLength, with LF or CRLF', () => {
    const command = 'C'.repeat(smallLimits.maxCommandLength!);
    assert.deepEqual(parse(`${command}\n\n\0${command}\r\n\r\n\0`, '1.2', smallLimits).map((f) => f.command), [command, command]);
  });

  test('rejects a command line over maxCommandLength', () => {
    const command = 'C'.repeat(smallLimits.maxCommandLength! + 1);
    expectError(() => parse(`${command}\r\n\n\0`, '1.2', smallLimits), 'ERR_STOMP_LIMIT', /command line/);
  });

  test('rejects garbage without LF once it exceeds the command line bound', () => {
    const p = parser('1.2', smallLimits);
    p.push(Buffer.alloc(smallLimits.maxCommandLength! + 1, 0x41));
    expectError(() => p.push(Buffer.from('AA')), 'ERR_STOMP_LIMIT', /command line/);
  });

  test('maxCommandLength defaults to 256', () => {
    const p = new StompParser({ maxHeaderBytes: 100, maxHeaders: 10, maxBodyBytes: 100 });
    assert.equal(p.push(Buffer.from(`${'C'.repeat(256)}\n\n\0`)).length, 1);
    expectError(() => new StompParser({ maxHeaderBytes: 100, maxHeaders: 10, maxBodyBytes: 100 }).push(Buffer.from('C'.repeat(258))), 'ERR_STOMP_LIMIT');
  });
});

describe('StompParser: robustness', () => {
  /** Deterministic PRNG (mulberry32) so a failure reproduces. */
  function rng(seed: number): () => number {
    let a = seed;
    return () => {
      a = (a + 0x6d2b79f5) | 0;
      let t = Math.imul(a ^ (a >>> 15), 1 | a);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }

  /** Feeds `wire` in random chunks; returns normally or throws only StompFrameError. */
  function feedRandomly(wire: Buffer, rand: () => number, version: StompVersion): void {
    const p = parser(version, smallLimits);
    let pos = 0;
    try {
      while (pos < wire.length) {
        const n = 1 + Math.floor(rand() * 24);
        p.push(wire.subarray(pos, pos + n));
        pos += n;
      }
    } catch (e) {
      assert.ok(e instanceof StompFrameError, `non-StompFrameError thrown: ${String(e)}`);
    }
  }

  test('random bytes only ever raise StompFrameError', () => {
    const rand = rng(1);
    // Weighted towards the bytes that drive the state machine.
    const alphabet = [0x0a, 0x0d, 0x00, 0x3a, 0x5c, 0x6e, 0x72, 0x63, 0x74, 0x41, 0xff, 0xc3];
    for (let run = 0; run < 2000; run++) {
      const wire = Buffer.alloc(1 + Math.floor(rand() * 200));
      for (let i = 0; i < wire.length; i++) {
        wire[i] = rand() < 0.7 ? alphabet[Math.floor(rand() * alphabet.length)]! : Math.floor(rand() * 256);
      }
      feedRandomly(wire, rand, (['1.0', '1.1', '1.2'] as const)[run % 3]!);
    }
  });

  test('mutated valid frames only ever raise StompFrameError', () => {
    const rand = rng(2);
    const base = Buffer.from('SEND\ndestination:/q\\c1\ncontent-length:3\n\nabc\0\nMESSAGE\nk:v\n\nxyz\0');
    for (let run = 0; run < 2000; run++) {
      const wire = Buffer.from(base);
      const flips = 1 + Math.floor(rand() * 4);
      for (let i = 0; i < flips; i++) wire[Math.floor(rand() * wire.length)] = Math.floor(rand() * 256);
      feedRandomly(wire, rand, '1.2');
    }
  });
});
