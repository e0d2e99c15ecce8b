/** What one segment still holds that is needed: bytes, how many live messages it defines, the queue definitions and state keys in it. */
interface SegmentLive {
  bytes: number;
  messages: number;
  queues: Set<string>;
  states: Set<string>;
}

/**
 * Per segment, how many of its bytes are still needed (the journal deletes a segment when none
 * is, and compacts when the total live ratio is low). The {@link JournalIndex} marks a record live
 * when it defines a referenced message, the current definition of a queue or the current value of
 * a state key, and unmarks it when that stops being true. Counts, not sets of message keys, so a
 * backlog of millions costs nothing here; a segment that holds nothing live has no entry.
 */
export class SegmentLiveness {
  private readonly live = new Map<number, SegmentLive>();

  /** A message of `size` bytes defined in `segment` became live. */
  markMessage(segment: number, size: number): void {
    const l = this.entry(segment);
    l.bytes += size;
    l.messages++;
  }

  /** A message defined in `segment` lost its last reference. */
  unmarkMessage(segment: number, size: number): void {
    const l = this.live.get(segment);
    if (!l || l.messages === 0) return;
    l.bytes -= size;
    l.messages--;
    this.dropIfDead(segment, l);
  }

  /** The current definition of queue `name` is in `segment`. */
  markQueue(segment: number, name: string, size: number): void {
    const l = this.entry(segment);
    l.bytes += size;
    l.queues.add(name);
  }

  unmarkQueue(segment: number, name: string, size: number): void {
    const l = this.live.get(segment);
    if (!l || !l.queues.delete(name)) return;
    l.bytes -= size;
    this.dropIfDead(segment, l);
  }

  /** The current value of state `key` is in `segment`. */
  markState(segment: number, key: string, size: number): void {
    const l = this.entry(segment);
    l.bytes += size;
    l.states.add(key);
  }

  unmarkState(segment: number, key: string, size: number): void {
    const l = this.live.get(segment);
    if (!l || !l.states.delete(key)) return;
    l.bytes -= size;
    this.dropIfDead(segment, l);
  }

  /** Bytes of `segment` still needed. */
  bytes(segment: number): number {
    return this.live.get(segment)?.bytes ?? 0;
  }

  /** Bytes still needed in all segments. */
  totalBytes(): number {
    let n = 0;
    for (const l of this.live.values()) n += l.bytes;
    return n;
  }

  /** How many live messages `segment` defines. */
  messages(segment: number): number {
    return this.live.get(segment)?.messages ?? 0;
  }

  /** Names of the queues whose current definition is in `segment`. */
  queues(segment: number): Iterable<string> {
    return this.live.get(segment)?.queues ?? [];
  }

  /** State keys whose current value is in `segment`. */
  states(segment: number): Iterable<string> {
    return this.live.get(segment)?.states ?? [];
  }

  private entry(segment: number): SegmentLive {
    let l = this.live.get(segment);
    if (!l) this.live.set(segment, (l = { bytes: 0, messages: 0, queues: new Set(), states: new Set() }));
    return l;
  }

  private dropIfDead(segment: number, l: SegmentLive): void {
    if (l.messages === 0 && l.queues.size === 0 && l.states.size === 0) this.live.delete(segment);
  }
}
