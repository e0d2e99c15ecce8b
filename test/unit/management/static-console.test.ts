import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import Fastify from 'fastify';
import { createLogger } from '../../../src/log.ts';
import { registerConsole } from '../../../src/management/http/static-console.ts';

// The console's static files: index.html at /, the built assets, index.html again for any other
// page the single-page app routes in the browser, and the API's JSON 404 for unknown API paths.

test('a console build is served with the SPA fallback; API paths are never index.html', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'junction-console-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await mkdir(path.join(dir, 'assets'));
  await writeFile(path.join(dir, 'index.html'), '<!doctype html><div id="app"></div>');
  await writeFile(path.join(dir, 'assets', 'app-1234.js'), 'console.log(1)');
  const app = Fastify();
  await registerConsole(app, createLogger('silent'), dir);
  t.after(() => app.close());
  const get = (url: string) => app.inject({ method: 'GET', url });
  assert.match((await get('/')).body, /id="app"/);
  const js = await get('/assets/app-1234.js');
  assert.equal(js.statusCode, 200);
  assert.match(js.headers['content-type'] as string, /javascript/);
  const page = await get('/routes/orders/graph');
  assert.equal(page.statusCode, 200);
  assert.match(page.body, /id="app"/);
  for (const url of ['/api/v1/nothing', '/metrics/x', '/readyz/x']) {
    const r = await get(url);
    assert.equal(r.statusCode, 404, url);
    assert.equal(r.json().error.code, 'ERR_HTTP_NOT_FOUND');
  }
  assert.equal((await app.inject({ method: 'POST', url: '/somewhere' })).statusCode, 404);
  assert.ok([403, 404].includes((await get('/.env')).statusCode), 'no dotfiles');
});

test('without a build, / says to run npm run build', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'junction-console-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const app = Fastify();
  await registerConsole(app, createLogger('silent'), dir);
  t.after(() => app.close());
  const r = await app.inject({ method: 'GET', url: '/' });
  assert.equal(r.statusCode, 200);
  assert.match(r.body, /npm run build/);
  assert.equal((await app.inject({ method: 'GET', url: '/queues' })).statusCode, 404);
});
