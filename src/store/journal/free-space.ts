import type { Log } from '../../core/ports/log.ts';
import type { JournalOptions } from './journal-types.ts';

/** The smallest segment (the config's minimum too). */
const MIN_SEGMENT = 64 * 1024;

/**
 * The segment size to use in `dir`: `segmentSize`, or smaller on a file system with less free
 * space than one segment. There segments never fill, so none is ever deleted, and the disk fills
 * while consumed records sit in the one head (seen: a 2 MiB disk 97% full after a drain). As
 * ActiveMQ Classic resets its store limit to the usable space of the data directory with a warning
 * at start, the journal warns and uses segments of a quarter of the free space (at least
 * MIN_SEGMENT), so several fit and the dead ones are deleted. It does not refuse to start: segments
 * are not preallocated, a broker that holds little runs fine, and a disk that does fill is reported
 * per send (ERR_STORE_FAILED) and recovers when space returns.
 */
export async function fitSegmentSize(dir: string, segmentSize: number, statfs: NonNullable<JournalOptions['statfs']>, log: Log): Promise<number> {
  let free: number;
  try {
    const s = await statfs(dir);
    free = Number(s.bavail) * Number(s.bsize);
  } catch (err) {
    log.warn({ err, dir }, 'cannot read the free space of the journal file system; not checked');
    return segmentSize;
  }
  if (free >= segmentSize) return segmentSize;
  const using = Math.max(MIN_SEGMENT, Math.floor(free / 4 / 4096) * 4096);
  log.warn(
    { dir, free, segmentSize, using },
    using * 2 > free
      ? 'journal file system is nearly full (less free space than two of the smallest segments); sends will fail when it fills'
      : 'journal file system has less free space than one segment (store.segmentSize); using smaller segments so consumed messages give their space back',
  );
  return using;
}
