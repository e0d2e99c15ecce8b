import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';

const root = path.resolve(import.meta.dirname, '../..');

test('examples/embedded-stomp runs and consumes every order', { timeout: 60_000 }, async () => {
  const out = await new Promise<string>((resolve, reject) => {
    execFile(process.execPath, ['--import', 'tsx', 'examples/embedded-stomp/main.ts'], { cwd: root, timeout: 50_000 }, (err, stdout, stderr) =>
      err ? reject(new Error(`${err.message}\n${stdout}${stderr}`)) : resolve(stdout),
    );
  });
  assert.deepEqual(out.match(/received order-\d/g), ['received order-1', 'received order-2', 'received order-3', 'received order-4', 'received order-5']);
  assert.match(out, /queue orders: enqueued 5, acked 5, left 0/);
});
