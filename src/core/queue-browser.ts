import type { Entry, EntryList } from './entry-list.ts';
import type { Message } from './message.ts';

/** A cursor over a queue's messages; see {@link queueBrowser}. */
export interface QueueBrowser {
  /** Up to `max` more messages; an empty array once every message has been shown. */
  next(max: number): Message[];
}

/**
 * A cursor over the messages a queue holds in memory: ready ones highest priority first (arrival
 * order within a priority), then scheduled ones, then those in delivery. `next(max)` returns at most
 * `max` (an empty array at the end), so a protocol browses a queue of any size a batch per event-loop
 * turn. Not a snapshot (JMS 2.0 section 4.1.2: a browser's view may change as messages arrive and
 * leave): a message that leaves before the cursor reaches it is not shown. Each call costs O(max),
 * apart from one copy of the scheduled and in-delivery lists (pointers) when the ready ones are done.
 * `levels` are the queue's ready lists, one per priority (index = priority); `waiting` lists the
 * entries scheduled or in delivery.
 */
export function queueBrowser(levels: readonly EntryList[], waiting: () => Entry[]): QueueBrowser {
  let level = levels.length - 1;
  let last: Entry | null = null;
  let lastSeq = -1;
  let rest: Entry[] | null = null;
  let i = 0;
  return {
    next: (max: number): Message[] => {
      const out: Message[] = [];
      while (out.length < max && level >= 0) {
        const list = levels[level]!;
        let e: Entry | null;
        if (last !== null && last.list === list) e = last.next;
        else {
          // The last one shown left the list (delivered, expired): resume after its place by seq.
          e = list.head;
          while (e && e.seq <= lastSeq) e = e.next;
        }
        if (!e) {
          level--;
          last = null;
          lastSeq = -1;
          continue;
        }
        out.push(e.message);
        last = e;
        lastSeq = e.seq;
      }
      if (out.length < max && level < 0 && rest === null) {
        rest = waiting();
      }
      while (rest !== null && out.length < max && i < rest.length) {
        const e = rest[i++]!;
        if (e.state === 'scheduled' || e.state === 'delivering') out.push(e.message);
      }
      return out;
    },
  };
}

/**
 * Every message a queue holds in memory, highest priority first, in arrival order within a priority
 * (ready, scheduled, in delivery), as one array: for management and tests.
 */
export function queueSnapshot(levels: readonly EntryList[], waiting: Entry[]): Message[] {
  const entries: Entry[] = [];
  for (const list of levels) for (let e = list.head; e; e = e.next) entries.push(e);
  entries.push(...waiting);
  return entries.sort((a, b) => b.message.priority - a.message.priority || a.seq - b.seq).map((e) => e.message);
}
