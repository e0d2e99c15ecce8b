import type { Log } from '../core/ports/log.ts';

/**
 * A reader of the broker's parts for the sampler and the scrape: a part that throws (a facade method
 * not built, a failure) gives `fallback` and is logged once per part, not once a second or once per
 * scrape, so a broken part neither stops the rest nor floods the log.
 */
export function guardedReader(log: Log, message: string): <T, F>(part: string, read: () => T, fallback: F) => T | F {
  const failed = new Set<string>();
  return (part, read, fallback) => {
    try {
      return read();
    } catch (err) {
      if (!failed.has(part)) {
        failed.add(part);
        log.warn({ err, part }, message);
      }
      return fallback;
    }
  };
}
