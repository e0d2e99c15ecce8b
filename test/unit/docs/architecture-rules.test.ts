import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { test } from 'node:test';

// docs/architecture.md lists the boundary rules by the names `npm run lint` reports; the list must
// name exactly the rules of .dependency-cruiser.cjs, so the module map a newcomer reads is the one
// the checker keeps.

const root = path.resolve(import.meta.dirname, '../../..');

test('docs/architecture.md names exactly the rules of .dependency-cruiser.cjs', () => {
  const config = createRequire(import.meta.url)(path.join(root, '.dependency-cruiser.cjs')) as { forbidden: Array<{ name: string }> };
  const checked = new Set(config.forbidden.map((r) => r.name));
  const page = readFileSync(path.join(root, 'docs/architecture.md'), 'utf8');
  // Rows of the rules table: | `rule-a`, `rule-b` | what it forbids |
  const documented = new Set<string>();
  for (const row of page.matchAll(/^\| (`[a-z0-9-]+`(?:, `[a-z0-9-]+`)*) \|/gm)) {
    for (const name of row[1]!.matchAll(/`([a-z0-9-]+)`/g)) documented.add(name[1]!);
  }
  assert.deepEqual([...documented].sort(), [...checked].sort());
});
