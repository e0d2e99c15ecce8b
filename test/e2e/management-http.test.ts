import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { api } from '../helpers/management-http.ts';

// The management server with security off (the loopback default): probes, the OpenAPI document,
// errors in the API's shape, the DNS-rebinding guard, the console's fallback page, and the
// definitions export/import round trip.

const ROUTE = { id: 'defs-route', from: 'queue:defs.in', steps: [{ to: 'queue:defs.out' }] };

describe('security off', () => {
  let broker: TestBroker;
  let call: ReturnType<typeof api>;
  let base: string;
  before(async () => {
    broker = await startBroker({ queues: ['defs.configured'] });
    base = `http://127.0.0.1:${broker.ports.http}`;
    call = api(base);
  });
  after(() => broker?.stop());

  test('healthz and readyz answer without credentials; ports.json has http', async () => {
    assert.deepEqual((await call('GET', '/healthz')).json, { status: 'ok' });
    assert.deepEqual((await call('GET', '/readyz')).json, { ready: true });
    const ports = JSON.parse(await readFile(path.join(broker.dataDir, 'ports.json'), 'utf8'));
    assert.equal(ports.http, broker.ports.http);
    assert.equal(ports.https, undefined, 'no HTTPS without tls.cert');
  });

  test('the OpenAPI document is OpenAPI 3 with every area, and each schema in it compiles', async () => {
    const r = await call('GET', '/api/v1/openapi.json');
    assert.equal(r.status, 200);
    const doc = r.json;
    assert.match(doc.openapi, /^3\.\d+\.\d+$/);
    assert.equal(doc.info.version, '0.1.0');
    for (const p of ['/api/v1/auth/login', '/api/v1/auth/session', '/api/v1/auth/tokens', '/api/v1/auth/tokens/{id}', '/api/v1/users', '/api/v1/users/{user}', '/api/v1/permissions', '/api/v1/definitions', '/api/v1/queues']) {
      assert.ok(doc.paths[p], `path ${p}`);
    }
    assert.ok(doc.paths['/api/v1/auth/login'].post.requestBody.content['application/json'].schema.properties.password);
    const ajv = new Ajv2020({ strict: false, validateFormats: false });
    ajv.addKeyword('example');
    let schemas = 0;
    for (const [p, ops] of Object.entries<Record<string, any>>(doc.paths)) {
      for (const [method, op] of Object.entries<any>(ops)) {
        assert.ok(op.responses && Object.keys(op.responses).length > 0, `${method} ${p} has responses`);
        for (const body of Object.values<any>(op.requestBody?.content ?? {})) (ajv.compile(body.schema), schemas++);
        for (const res of Object.values<any>(op.responses)) for (const c of Object.values<any>(res.content ?? {})) (ajv.compile(c.schema), schemas++);
      }
    }
    assert.ok(schemas > 20, `${schemas} schemas compiled`);
    assert.ok(!('/healthz' in doc.paths), 'probes are not API');
  });

  test('unknown API paths are a JSON 404; / without a console build says how to make one', async () => {
    const r = await call('GET', '/api/v1/nothing-here');
    assert.equal(r.status, 404);
    assert.equal(r.json.error.code, 'ERR_HTTP_NOT_FOUND');
    const home = await call('GET', '/');
    assert.equal(home.status, 200);
    assert.match(home.headers.get('content-type')!, /text\/html/);
    assert.match(home.text, /npm run build|<div id="app"|<script/);
    assert.match(home.headers.get('content-security-policy')!, /default-src 'self'.*frame-ancestors 'none'/);
    assert.equal(home.headers.get('x-content-type-options'), 'nosniff');
  });

  test('a Host that is not an IP or localhost is refused (DNS rebinding), a cross-site POST too', async () => {
    const { request } = await import('node:http');
    const status = await new Promise<number>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: broker.ports.http, path: '/api/v1/queues', headers: { host: 'rebind.example:8161' } }, (res) => {
        res.resume();
        resolve(res.statusCode!);
      });
      req.on('error', reject).end();
    });
    assert.equal(status, 403);
    assert.equal((await call('GET', '/api/v1/queues', { headers: { host: `localhost:${broker.ports.http}` } })).status, 200);
    const cross = await call('POST', '/api/v1/queues', { headers: { origin: 'http://evil.example' }, body: { name: 'cross.q' } });
    assert.equal(cross.status, 403);
    assert.equal(broker.core.getQueue('cross.q'), undefined);
  });

  test('users need a users file: 409 with security off; login too', async () => {
    const users = await call('GET', '/api/v1/users');
    assert.equal(users.status, 409);
    assert.equal(users.json.error.code, 'ERR_HTTP_SECURITY_OFF');
    assert.equal((await call('POST', '/api/v1/auth/login', { body: { user: 'a', password: 'b' } })).status, 409);
    assert.deepEqual((await call('GET', '/api/v1/auth/session')).json, { security: false });
  });

  test('definitions: a dry run creates nothing, problems come by path, import creates and deploys, export gives it back', async () => {
    const doc = { queues: [{ name: 'defs.a', durable: true }, { name: 'defs.configured', durable: true }], topics: [], routes: [ROUTE] };
    const dry = await call('POST', '/api/v1/definitions?dryRun=true', { body: doc });
    assert.equal(dry.status, 200, dry.text);
    assert.deepEqual(dry.json.queues, { created: ['defs.a'], existing: ['defs.configured'] });
    assert.deepEqual(dry.json.routes.deployed, ['defs-route']);
    assert.equal(broker.core.getQueue('defs.a'), undefined);
    assert.equal(broker.routes.has('defs-route'), false);

    const bad = await call('POST', '/api/v1/definitions', { body: { routes: [ROUTE, { id: 'broken', from: 'queue:x', steps: [{ to: 'nowhere:x' }] }] } });
    assert.equal(bad.status, 400);
    assert.ok(bad.json.error.issues.some((i: { path: string }) => i.path.startsWith('routes.1')), bad.text);
    assert.equal(broker.routes.has('defs-route'), false, 'nothing imported when one part is wrong');

    const done = await call('POST', '/api/v1/definitions', { body: doc });
    assert.equal(done.status, 200, done.text);
    assert.deepEqual(done.json.queues.created, ['defs.a']);
    assert.equal(broker.core.getQueue('defs.a')?.durable, true);
    assert.equal(broker.routes.list().find((r) => r.id === 'defs-route')?.state, 'started');

    const out = await call('GET', '/api/v1/definitions');
    assert.equal(out.status, 200);
    assert.equal(out.json.version, '0.1.0');
    const names = out.json.queues.map((q: { name: string }) => q.name);
    for (const q of ['defs.a', 'defs.configured', 'defs.in']) assert.ok(names.includes(q), q);
    assert.deepEqual(out.json.routes.map((r: { id: string }) => r.id), ['defs-route']);
    assert.equal(out.json.routes[0].from, 'queue:defs.in');

    // The export imports again as it is: everything exists, the route is redeployed.
    const again = await call('POST', '/api/v1/definitions', { body: out.json });
    assert.equal(again.status, 200, again.text);
    assert.deepEqual(again.json.queues.created, []);
  });
});
