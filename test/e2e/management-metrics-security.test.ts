import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { hashPassword } from '../../src/security/password-hash.ts';
import { writeUsersFile } from '../../src/security/users-file.ts';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { parseMetrics, seriesValue } from '../helpers/prometheus.ts';
import { openEvents } from '../helpers/sse.ts';

// Issue 15 with security on: /metrics needs `view` on $sys.mgmt.metrics (basic or bearer) unless
// http.metrics.public; the event stream needs `view` on $sys.mgmt.broker and shows only the queues
// the caller may view.

const FAST = { ln: 10, r: 8, p: 1 };
const basic = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;
let dir: string;
let broker: TestBroker;
let open: TestBroker;

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'metrics-security-e2e-'));
  const usersFile = path.join(dir, 'users.json');
  const user = async (pw: string, roles: string[]) => ({ password: await hashPassword(pw, FAST), roles, certificates: [] });
  await writeUsersFile(usersFile, {
    users: { scraper: await user('scraper-pw', ['scraper']), watcher: await user('watcher-pw', ['watcher']), nobody: await user('nobody-pw', ['none']) },
  });
  const security = {
    usersFile,
    permissions: {
      '$sys.mgmt.metrics': { view: ['scraper'] },
      '$sys.mgmt.broker': { view: ['watcher'] },
      'public.>': { view: ['watcher'] },
    },
  };
  broker = await startBroker({ store: { type: 'memory' }, security });
  open = await startBroker({ store: { type: 'memory' }, security, http: { metrics: { public: true } } });
});
after(async () => {
  await broker?.stop();
  await open?.stop();
  await rm(dir, { recursive: true, force: true });
});

test('/metrics: 401 without credentials, 403 without view on $sys.mgmt.metrics, 200 with basic auth', async () => {
  const url = `http://127.0.0.1:${broker.ports.http}/metrics`;
  const none = await fetch(url);
  assert.equal(none.status, 401);
  assert.equal(((await none.json()) as { error: { code: string } }).error.code.startsWith('ERR_'), true);
  assert.equal((await fetch(url, { headers: { authorization: basic('scraper', 'wrong') } })).status, 401);
  const denied = await fetch(url, { headers: { authorization: basic('nobody', 'nobody-pw') } });
  assert.equal(denied.status, 403);
  await denied.body?.cancel();
  const ok = await fetch(url, { headers: { authorization: basic('scraper', 'scraper-pw') } });
  assert.equal(ok.status, 200);
  const f = parseMetrics(await ok.text());
  assert.equal(f.get('junction_messages_sent_total')?.type, 'COUNTER');
});

test('/metrics with http.metrics.public: served without credentials while security is on', async () => {
  const res = await fetch(`http://127.0.0.1:${open.ports.http}/metrics`);
  assert.equal(res.status, 200);
  assert.equal(seriesValue(parseMetrics(await res.text()), 'junction_build_info') ?? 0, 1);
  // The API itself still needs credentials.
  const api = await fetch(`http://127.0.0.1:${open.ports.http}/api/v1/overview`);
  assert.equal(api.status, 401);
  await api.body?.cancel();
});

test('events: 401 without credentials, 403 without view on the broker; queues only those the caller may view', async () => {
  const url = `http://127.0.0.1:${broker.ports.http}/api/v1/events`;
  await assert.rejects(openEvents(url), (e: { status: number }) => e.status === 401);
  await assert.rejects(openEvents(url, { authorization: basic('scraper', 'scraper-pw') }), (e: { status: number }) => e.status === 403);
  await assert.rejects(openEvents(`${url}?topics=routes`, { authorization: basic('watcher', 'watcher-pw') }), (e: { status: number }) => e.status === 403, 'routes need view on $sys.mgmt.routes');
  await broker.core.send({ destination: { type: 'queue', name: 'public.q' }, body: Buffer.from('x') });
  await broker.core.send({ destination: { type: 'queue', name: 'private.q' }, body: Buffer.from('x') });
  const s = await openEvents(`${url}?topics=stats,queues`, { authorization: basic('watcher', 'watcher-pw') });
  try {
    const q = JSON.parse((await s.waitFor((e) => e.event === 'queues')).data) as { changed: Array<{ name: string }> };
    assert.deepEqual(q.changed.map((x) => x.name), ['public.q']);
    await s.waitFor((e) => e.event === 'stats');
  } finally {
    s.close();
  }
});
