import { mkdtemp, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Locator, type Page } from 'playwright-core';

/**
 * A real browser for the console tests: Debian's chromium (`apt-get install chromium`, listed in
 * .ci/run) driven by playwright-core, which downloads no browser of its own. Headless, no sandbox
 * (CI runs as root), and nothing that reaches the internet (updates, sync, QUIC probes), with a
 * new empty profile each time.
 */
export const CHROMIUM = process.env.JUNCTION_CHROMIUM ?? '/usr/bin/chromium';

export function chromiumMissing(): string | false {
  return existsSync(CHROMIUM) ? false : `no browser at ${CHROMIUM} (apt-get install chromium, or set JUNCTION_CHROMIUM)`;
}

export interface TestBrowser {
  readonly context: BrowserContext;
  readonly page: Page;
  /** Errors the page threw or logged, for failure messages. */
  readonly errors: string[];
  close(): Promise<void>;
}

export async function launchBrowser(): Promise<TestBrowser> {
  const profile = await mkdtemp(path.join(tmpdir(), 'junction-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--headless', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1400, height: 900 },
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  return {
    context,
    page,
    errors,
    async close() {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

/**
 * Waits until `check` returns a truthy value (polling; the page updates from server events), and
 * returns it; fails after `timeout` with `what` and the last value seen. Generous by default: the
 * tests assert what the page shows, never how fast.
 */
export async function until<T>(what: string, check: () => Promise<T>, timeout = 30_000): Promise<Exclude<T, false | null | undefined | 0 | ''>> {
  const deadline = Date.now() + timeout;
  let last: unknown;
  for (;;) {
    try {
      last = await check();
      if (last) return last as Exclude<T, false | null | undefined | 0 | ''>;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last: ${last instanceof Error ? last.message : JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Waits until the locator's text satisfies `ok`; returns the text. */
export async function untilText(loc: Locator, what: string, ok: (text: string) => boolean, timeout?: number): Promise<string> {
  const got = await until(
    what,
    async () => {
      const text = (await loc.textContent({ timeout: 1000 })) ?? '';
      return ok(text) ? { text } : false;
    },
    timeout,
  );
  return got.text;
}

/** Saves a screenshot to /tmp/console-<name>.png (looked at when the layout changes; kept out of the repository). */
export async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: path.join(tmpdir(), `console-${name}.png`), fullPage: true });
}
