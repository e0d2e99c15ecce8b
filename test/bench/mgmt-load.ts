/**
 * The management load of the benches' `Junction+mgmt` variant (issue 15: "every row with the HTTP
 * server, SSE clients and a 1 s scrape running is within 3% of before"): 2 Server-Sent Event
 * streams subscribed to every topic (stats, queues, routes, connections), read as they come, and a
 * `GET /metrics` scrape every second, against the broker's management port.
 *
 * The load runs in a child process of its own (`child_process.fork` of this file), so its parsing
 * and HTTP client work never share the broker's event loop: only the broker's side of it (the
 * sampler, the event fan-out, the scrape) is measured. It is switched on just before the variant's
 * measured run and off just after (IPC `{ op: 'start', url }` / `{ op: 'stop' }`), so the other
 * variants, which run in the same bench process, are never measured while it runs.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { pathToFileURL } from 'node:url';

export const JUNCTION_MGMT = 'Junction+mgmt';

/** What the load did while it ran; `scrapeMs` is the slowest scrape (a reading, not a target). */
export interface MgmtLoadSummary {
  seconds: number;
  scrapes: number;
  scrapeErrors: number;
  maxScrapeMs: number;
  events: number;
  streamErrors: number;
}

/** The config of a bench broker without the management server (the baseline and the other variants). */
export const WITHOUT_MGMT = { http: { enabled: false } } as const;

/** Runs `run` with the management load on against `url` (`http://127.0.0.1:<port>`), and prints what the load did. */
export class MgmtLoad {
  private readonly child: ChildProcess;
  private waiter: ((msg: { op: string; summary?: MgmtLoadSummary; error?: string }) => void) | undefined;

  private constructor() {
    this.child = fork(new URL(import.meta.url).pathname, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.child.on('message', (m) => this.waiter?.(m as { op: string }));
  }

  static start(): MgmtLoad {
    return new MgmtLoad();
  }

  private ask(msg: object): Promise<{ op: string; summary?: MgmtLoadSummary; error?: string }> {
    return new Promise((resolve, reject) => {
      this.waiter = (m) => (m.error ? reject(new Error(m.error)) : resolve(m));
      this.child.send(msg);
    });
  }

  /** `run` with 2 SSE streams open and a 1 s scrape against `url` from before it starts until it ends. */
  async during<T>(url: string, run: () => Promise<T>): Promise<{ result: T; load: MgmtLoadSummary }> {
    await this.ask({ op: 'start', url });
    let result: T;
    try {
      result = await run();
    } catch (err) {
      await this.ask({ op: 'stop' }).catch(() => {});
      throw err;
    }
    const { summary } = await this.ask({ op: 'stop' });
    return { result, load: summary! };
  }

  close(): void {
    this.child.kill();
  }
}

/** One line for the bench output. */
export function mgmtLine(s: MgmtLoadSummary): string {
  return `mgmt load: ${s.scrapes} scrapes (slowest ${s.maxScrapeMs.toFixed(0)} ms${s.scrapeErrors ? `, ${s.scrapeErrors} failed` : ''}), ${s.events} SSE events on 2 streams${s.streamErrors ? `, ${s.streamErrors} stream errors` : ''}`;
}

// ---------------------------------------------------------------- the child

async function readStream(url: string, signal: AbortSignal, counts: { events: number; streamErrors: number }, opened: () => void): Promise<void> {
  try {
    const res = await fetch(`${url}/api/v1/events?topics=stats,queues,routes,connections`, { signal, headers: { accept: 'text/event-stream' } });
    if (res.status !== 200) throw new Error(`events: HTTP ${res.status}`);
    opened();
    const decoder = new TextDecoder();
    let buf = '';
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buf += decoder.decode(chunk, { stream: true });
      let i: number;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        if (buf.startsWith('event:')) counts.events++;
        buf = buf.slice(i + 2);
      }
    }
  } catch (err) {
    if (!signal.aborted) {
      counts.streamErrors++;
      console.error(`mgmt-load: ${(err as Error).message}`);
    }
  }
}

function child(): void {
  let stop: (() => Promise<MgmtLoadSummary>) | undefined;
  process.on('message', async (m: { op: string; url?: string }) => {
    try {
      if (m.op === 'start') {
        const url = m.url!;
        const started = Date.now();
        const counts = { events: 0, streamErrors: 0 };
        const scrape = { n: 0, errors: 0, maxMs: 0 };
        const ac = new AbortController();
        let open = 0;
        const bothOpen = new Promise<void>((resolve) => {
          const opened = () => ++open === 2 && resolve();
          for (let i = 0; i < 2; i++) void readStream(url, ac.signal, counts, opened);
        });
        const scrapeOnce = async () => {
          const t0 = performance.now();
          try {
            const res = await fetch(`${url}/metrics`, { signal: ac.signal });
            await res.text();
            if (res.status !== 200) throw new Error(`metrics: HTTP ${res.status}`);
            scrape.n++;
            scrape.maxMs = Math.max(scrape.maxMs, performance.now() - t0);
          } catch (err) {
            if (!ac.signal.aborted) {
              scrape.errors++;
              console.error(`mgmt-load: ${(err as Error).message}`);
            }
          }
        };
        await bothOpen;
        await scrapeOnce();
        const timer = setInterval(() => void scrapeOnce(), 1000);
        stop = async () => {
          clearInterval(timer);
          ac.abort();
          return { seconds: (Date.now() - started) / 1000, scrapes: scrape.n, scrapeErrors: scrape.errors, maxScrapeMs: scrape.maxMs, ...counts };
        };
        process.send!({ op: 'started' });
      } else if (m.op === 'stop') {
        const summary = await stop!();
        stop = undefined;
        process.send!({ op: 'stopped', summary });
      }
    } catch (err) {
      process.send!({ op: 'error', error: (err as Error).message });
    }
  });
  process.on('disconnect', () => process.exit(0));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) child();
