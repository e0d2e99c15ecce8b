import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { CONFIG_DOC, configComments, renderConfigDoc } from '../../src/config/config-docs.ts';

const root = path.resolve(import.meta.dirname, '../..');

test('docs/configuration.md is up to date with the configuration schema (npm run docs)', async () => {
  const page = await readFile(path.join(root, CONFIG_DOC), 'utf8');
  // renderConfigDoc also fails when a key has no TSDoc comment to describe it.
  assert.equal(page, renderConfigDoc(page), `${CONFIG_DOC} is stale: run npm run docs`);
});

test('key descriptions are the TSDoc comments of the schema, followed into the slices it composes', () => {
  const comments = configComments();
  assert.match(comments.get('name') ?? '', /Broker name/);
  assert.match(comments.get('stomp.maxPrefetch') ?? '', /MAX_PREFETCH_SIZE/);
  assert.match(comments.get('addressSettings.<pattern>.maxDeliveryAttempts') ?? '', /Default 7/);
});
