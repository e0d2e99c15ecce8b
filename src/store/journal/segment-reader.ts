import { open } from 'node:fs/promises';
import { HEADER_SIZE, readRecord, type DecodedRecord } from './record.ts';

/** Replay reads a segment through a window of this many bytes (grown for a larger record), not as one buffer. */
export const REPLAY_WINDOW = 4 * 1024 * 1024;

/** The window a replay reads through; one per `open`, reused for every segment. */
export interface ReadWindow {
  buf: Buffer;
}

/**
 * Reads the records of a segment file in order through `window`, calling `onRecord` with each valid
 * one and its file offset (its payload is a view of the window: copy what must outlive the call).
 * Stops at the end of the file or at the first record that is not valid; `clean` tells which, and
 * `offset` is where it stopped. Memory stays at the window size whatever the segment size.
 */
export async function readSegmentRecords(
  file: string,
  window: ReadWindow,
  onRecord: (record: DecodedRecord, offset: number) => void,
): Promise<{ offset: number; clean: boolean }> {
  const fh = await open(file, 'r');
  try {
    const fileSize = (await fh.stat()).size;
    let base = 0; // file offset of window.buf[0]
    let filled = 0; // bytes of the window holding file data
    let pos = 0; // read position in the window
    for (;;) {
      const view = window.buf.subarray(0, filled);
      const r = readRecord(view, pos);
      if (r.ok) {
        onRecord(r.record, base + pos);
        pos += r.record.size;
        continue;
      }
      const atEof = base + filled >= fileSize;
      if (r.reason === 'end' && atEof) return { offset: base + pos, clean: true };
      if (atEof || (r.reason !== 'short' && r.reason !== 'end')) return { offset: base + pos, clean: false };
      // The next record goes past the window: slide the unread bytes to the front and read on.
      const rest = filled - pos;
      const need = rest >= HEADER_SIZE ? HEADER_SIZE + view.readUInt32BE(pos + 3) : HEADER_SIZE;
      if (base + pos + need > fileSize) return { offset: base + pos, clean: false }; // a short record at the end
      if (need > window.buf.length) {
        const bigger = Buffer.allocUnsafe(Math.max(need, window.buf.length * 2));
        window.buf.copy(bigger, 0, pos, filled);
        window.buf = bigger;
      } else window.buf.copy(window.buf, 0, pos, filled);
      base += pos;
      filled = rest;
      pos = 0;
      while (filled < window.buf.length && base + filled < fileSize) {
        const { bytesRead } = await fh.read(window.buf, filled, window.buf.length - filled, base + filled);
        if (bytesRead === 0) break;
        filled += bytesRead;
      }
    }
  } finally {
    await fh.close();
  }
}
