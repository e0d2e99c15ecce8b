import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

// Every relative link in README.md and docs/*.md must name a file or folder of the repository and,
// with a #fragment into a Markdown file, one of its headings; and every repository path the pages
// name in code (`src/core/core.ts`, `test/bench/`; `docs/` ones are links) must exist: a moved or
// renamed file breaks here, not for a reader.

const root = path.resolve(import.meta.dirname, '../../..');

/** GitHub's heading anchor: lower case, punctuation dropped, spaces to hyphens. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

/** Markdown outside fenced code blocks (links in code are examples, not links). */
function prose(text: string): string {
  return text.replace(/^```[\s\S]*?^```/gm, '');
}

/** The anchors of a Markdown file's headings, numbered as GitHub numbers repeats (`-1`, `-2`). */
function anchors(file: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const m of prose(readFileSync(file, 'utf8')).matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const base = slug(m[1]!.replace(/`/g, ''));
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

const pages = ['README.md', ...readdirSync(path.join(root, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];

test('relative links in README.md and docs/*.md resolve to files and headings', () => {
  const broken: string[] = [];
  for (const page of pages) {
    const from = path.join(root, page);
    // [text](target) and [text](target "title"); images too.
    for (const m of prose(readFileSync(from, 'utf8')).matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
      const target = m[1]!;
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // http:, https:, mailto:
      const [file, fragment] = target.split('#', 2) as [string, string | undefined];
      const resolved = file === '' ? from : path.resolve(path.dirname(from), decodeURIComponent(file));
      if (!resolved.startsWith(root) || !existsSync(resolved)) {
        broken.push(`${page}: ${target} (no such file)`);
        continue;
      }
      if (fragment !== undefined && statSync(resolved).isFile() && resolved.endsWith('.md') && !anchors(resolved).has(fragment)) {
        broken.push(`${page}: ${target} (no such heading)`);
      }
    }
  }
  assert.deepEqual(broken, []);
});

test('the anchor rule matches GitHub for headings with code, punctuation and symbols', () => {
  assert.equal(slug('Store: the journal'), 'store-the-journal');
  assert.equal(slug('Memory per message (measured with npm run bench:journal, 1,000,000 × 1 KiB)'), 'memory-per-message-measured-with-npm-run-benchjournal-1000000--1-kib');
  assert.equal(slug('Configuration (mqtt in the config)'), 'configuration-mqtt-in-the-config');
});

test('repository paths named in README.md and docs/*.md exist', () => {
  const missing: string[] = [];
  for (const page of pages) {
    // A path in code: from a top-level folder, ending in a file extension or a slash (`test/nosubscribe`
    // is an MQTT topic, `src/<area>/` a pattern).
    for (const m of readFileSync(path.join(root, page), 'utf8').matchAll(/`((?:src|patterns|test|examples|bin|routes|\.ci)\/[\w./-]*(?:\.[a-z]+|\/))`/g)) {
      if (!existsSync(path.join(root, m[1]!))) missing.push(`${page}: ${m[1]}`);
    }
  }
  assert.deepEqual(missing, []);
});
