import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import { ErrorCodes, JunctionError, SelectorError, StompFrameError, isJunctionError, type ErrorCode } from '../../src/errors.ts';

const codes = Object.keys(ErrorCodes) as ErrorCode[];

describe('error registry', () => {
  test('every code has the form ERR_<AREA>_<WHAT>', () => {
    for (const code of codes) assert.match(code, /^ERR_[A-Z0-9]+_[A-Z0-9]+(_[A-Z0-9]+)*$/, code);
  });

  test('no code is declared twice in the registry source', async () => {
    // An object literal keeps the last of two equal keys, so duplicates can only be seen in the source.
    const source = await readFile(path.resolve(import.meta.dirname, '../../src/errors.ts'), 'utf8');
    const block = source.slice(source.indexOf('export const ErrorCodes = {'), source.indexOf('} as const;'));
    const declared = [...block.matchAll(/^\s*(ERR_\w+)\s*:/gm)].map((m) => m[1]!);
    const seen = new Set<string>();
    const duplicates = declared.filter((c) => (seen.has(c) ? true : (seen.add(c), false)));
    assert.deepEqual(duplicates, []);
    assert.deepEqual(declared, codes, 'the source scan found every registry code');
  });

  test('every code has a non-empty description, and no two codes share one', () => {
    const descriptions = codes.map((c) => ErrorCodes[c]);
    for (const d of descriptions) assert.ok(typeof d === 'string' && d.trim().length > 0);
    assert.equal(new Set(descriptions).size, descriptions.length);
  });
});

describe('error classes', () => {
  test('JunctionError carries its code, defaults its message to the description, and keeps the cause', () => {
    const cause = new Error('root');
    const e = new JunctionError('ERR_STORE_FAILED', undefined, { cause });
    assert.equal(e.code, 'ERR_STORE_FAILED');
    assert.equal(e.message, ErrorCodes.ERR_STORE_FAILED);
    assert.equal(e.cause, cause);
    assert.ok(e instanceof Error);
    assert.ok(isJunctionError(e));
  });

  test('SelectorError carries its position in the message and the field', () => {
    const e = new SelectorError('Unexpected end', 12);
    assert.equal(e.code, 'ERR_SELECTOR_SYNTAX');
    assert.equal(e.position, 12);
    assert.match(e.message, /at position 12/);
    assert.ok(isJunctionError(e));
  });

  test('StompFrameError is a JunctionError with a STOMP code', () => {
    const e = new StompFrameError('ERR_STOMP_LIMIT', 'too big');
    assert.equal(e.code, 'ERR_STOMP_LIMIT');
    assert.ok(e instanceof JunctionError);
  });

  test('isJunctionError is false for plain errors and non-errors', () => {
    assert.equal(isJunctionError(new Error('x')), false);
    assert.equal(isJunctionError({ code: 'ERR_STORE_FAILED' }), false);
  });
});
