import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, test } from 'node:test';
import { encodeRecord, RecordType } from '../../../src/store/journal/record.ts';
import { readSegmentRecords } from '../../../src/store/journal/segment-reader.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'junction-segreader-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Records of varied sizes: some smaller than the test window, some larger. */
function records(): Buffer[] {
  return [10, 70, 3, 200, 0, 64, 1000, 5].map((n, i) => encodeRecord(RecordType.BATCH, Buffer.alloc(n, i + 1)));
}

async function readAll(file: string, windowSize: number) {
  const seen: Array<{ offset: number; size: number; first: number | undefined }> = [];
  const window = { buf: Buffer.alloc(windowSize) };
  const r = await readSegmentRecords(file, window, (rec, offset) => seen.push({ offset, size: rec.size, first: rec.payload[0] }));
  return { ...r, seen, window };
}

test('reads every record through a small window, growing it for a record larger than the window', async () => {
  const recs = records();
  const file = path.join(dir, 'a.seg');
  await writeFile(file, Buffer.concat(recs));
  const { offset, clean, seen, window } = await readAll(file, 64);
  assert.equal(clean, true);
  assert.equal(offset, Buffer.concat(recs).length);
  let at = 0;
  assert.deepEqual(
    seen,
    recs.map((r, i) => {
      const e = { offset: at, size: r.length, first: r.length > 11 ? i + 1 : undefined };
      at += r.length;
      return e;
    }),
  );
  assert.ok(window.buf.length >= 1011, 'the window grew to hold the largest record');
});

test('an empty segment is clean at offset 0', async () => {
  const file = path.join(dir, 'e.seg');
  await writeFile(file, Buffer.alloc(0));
  assert.deepEqual(await readSegmentRecords(file, { buf: Buffer.alloc(16) }, () => assert.fail('no records')), { offset: 0, clean: true });
});

test('stops at a torn tail or a corrupt record with the offset of the bad record', async () => {
  const recs = records();
  const whole = Buffer.concat(recs);
  const goodLen = recs.slice(0, 5).reduce((n, r) => n + r.length, 0);
  // Torn tail: the sixth record is cut short.
  const torn = path.join(dir, 't.seg');
  await writeFile(torn, whole.subarray(0, goodLen + 20));
  let r = await readAll(torn, 64);
  assert.deepEqual([r.offset, r.clean, r.seen.length], [goodLen, false, 5]);
  // A cut inside a header.
  await writeFile(torn, whole.subarray(0, goodLen + 5));
  r = await readAll(torn, 64);
  assert.deepEqual([r.offset, r.clean, r.seen.length], [goodLen, false, 5]);
  // A flipped payload byte in the middle.
  const bad = Buffer.from(whole);
  bad[goodLen + 30]! ^= 0xff;
  const corrupt = path.join(dir, 'c.seg');
  await writeFile(corrupt, bad);
  r = await readAll(corrupt, 64);
  assert.deepEqual([r.offset, r.clean, r.seen.length], [goodLen, false, 5]);
  // A header claiming more bytes than the file has: not read into a huge window.
  const lying = Buffer.concat([recs[0]!, encodeRecord(RecordType.BATCH, Buffer.alloc(10))]);
  lying.writeUInt32BE(500_000_000, recs[0]!.length + 3);
  await writeFile(corrupt, lying);
  r = await readAll(corrupt, 64);
  assert.deepEqual([r.offset, r.clean, r.seen.length], [recs[0]!.length, false, 1]);
  assert.equal(r.window.buf.length, 64);
});
