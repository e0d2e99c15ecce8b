#!/usr/bin/env node
// The `junction` command. In a checkout (src/ is there) it runs the TypeScript sources through tsx,
// so what runs is always what is in the tree, never a stale dist/; an installed package ships
// dist/ only (package.json "files") and runs the compiled JavaScript. Either way the broker runs
// in this same process: signals and kill -9 reach it.
import { existsSync } from 'node:fs';

const sources = new URL('../src/cli/main.ts', import.meta.url);
if (existsSync(sources)) {
  const { register } = await import('tsx/esm/api');
  register();
  await import(sources.href);
} else {
  await import('../dist/src/cli/main.js');
}
