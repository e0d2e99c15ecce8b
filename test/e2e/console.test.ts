import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { existsSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { hashPassword } from '../../src/security/password-hash.ts';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { chromiumMissing, launchBrowser, shot, until, untilText, type TestBrowser } from '../helpers/browser.ts';
import { connect, type TestClient } from '../helpers/stompjs.ts';

// The web console in a real browser (issue 15 acceptance): Debian's chromium driven by
// playwright-core against a broker in this process with security on, the console served from
// dist/console as `npm run build` (run by `prepare` in `npm ci`) left it. Real STOMP clients
// (@stomp/stompjs) produce and consume. The test asserts what the page shows, waiting for it with
// generous timeouts, never how fast it came.

const ROOT = path.resolve(import.meta.dirname, '../..');
const BUILT = path.join(ROOT, 'dist/console/index.html');
const skip = chromiumMissing() || (existsSync(BUILT) ? false : 'dist/console is not built (npm run build)');

/** A cheap scrypt for tests (the default costs ~100 ms a login). */
const FAST = { ln: 10, r: 8, p: 1 };
const ALL = ['send', 'consume', 'browse', 'createAddress', 'createDurableQueue', 'createNonDurableQueue', 'deleteDurableQueue', 'deleteNonDurableQueue', 'manage', 'view'];

const grant = (perms: string[]) => Object.fromEntries(perms.map((p) => [p, ['admin']]));

let dir: string;
let broker: TestBroker;
let browser: TestBrowser;
let page: Page;
const clients: TestClient[] = [];

async function stomp(): Promise<TestClient> {
  const c = await connect(broker, { connectHeaders: { login: 'admin', passcode: 'admin-pw' } });
  clients.push(c);
  return c;
}

/** The text of a statistic card (`<dt>term</dt><dd>value</dd>`) of the page. */
function card(term: string) {
  return page.locator('.stat', { has: page.locator('dt', { hasText: new RegExp(`^${term}$`) }) }).locator('dd');
}

describe('web console in chromium', { skip }, () => {
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'junction-console-'));
    const users = {
      admin: { password: await hashPassword('admin-pw', FAST), roles: ['admin'] },
      vera: { password: await hashPassword('vera-pw', FAST), roles: ['viewer'] },
    };
    await writeFile(path.join(dir, 'users.json'), JSON.stringify({ users }));
    broker = await startBroker({
      security: {
        usersFile: path.join(dir, 'users.json'),
        // admin: everything, except sending to console.denied (a route step sending there fails);
        // vera: read-only management (view, browse).
        permissions: { '#': { ...grant(ALL), view: ['admin', 'viewer'], browse: ['admin', 'viewer'] }, 'console.denied': grant(ALL.filter((p) => p !== 'send')) },
        routes: { defaultUser: 'admin' },
      },
      // One delivery, then the dead-letter queue: a rejected message lands there at once.
      addressSettings: { 'console.work': { maxDeliveryAttempts: 1, deadLetterAddress: 'console.work.DLQ' } },
    } as Parameters<typeof startBroker>[0]);
    browser = await launchBrowser();
    page = browser.page;
  });

  after(async () => {
    for (const c of clients) await c.close();
    await browser?.close();
    await broker?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test('log in: the login form first, then the overview', async () => {
    await page.goto(`http://127.0.0.1:${broker.ports.http}/`);
    await page.getByLabel('User').fill('admin');
    await page.getByLabel('Password').fill('wrong');
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('alert').filter({ hasText: 'Wrong user name or password' }).waitFor();
    await shot(page, 'login');
    // The browser logs the refused login's 401 as a failed resource load: expected, not an error of the page.
    browser.errors.length = 0;
    await page.getByLabel('Password').fill('admin-pw');
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    await untilText(card('Version'), 'the broker version', (t) => /\d+\.\d+/.test(t));
    // The charts draw once the live `stats` events have brought two samples.
    await page.locator('svg[aria-label^="Throughput: sent"]').waitFor({ timeout: 30_000 });
    await shot(page, 'overview');
    assert.deepEqual(browser.errors, []);
  });

  test('a queue fills while a producer runs, and a message is browsed', async () => {
    const producer = await stomp();
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Queues' }).click();
    await page.getByRole('heading', { name: 'Queues' }).waitFor();
    await page.getByLabel('Filter').fill('console.orders');
    const row = page.getByRole('table', { name: 'Queues' }).getByRole('row').filter({ has: page.getByRole('link', { name: 'console.orders' }) });
    const depth = row.locator('td[data-col="messages"]');
    // Two bursts: the count shown moves from the first to the second without a reload (queues events).
    for (let i = 1; i <= 20; i++) await producer.send('/queue/console.orders', `order ${i}`, { persistent: 'true', region: 'eu' });
    await untilText(depth, 'the depth after the first burst', (t) => t === '20');
    for (let i = 21; i <= 50; i++) await producer.send('/queue/console.orders', `order ${i}`, { persistent: 'true', region: 'eu' });
    await untilText(depth, 'the depth after the second burst', (t) => t === '50');
    await shot(page, 'queues');

    await row.getByRole('link', { name: 'console.orders' }).click();
    await page.getByRole('heading', { name: /console\.orders/ }).waitFor();
    const messages = page.getByRole('table', { name: 'Messages' });
    await messages.getByRole('button', { name: /^Open message / }).first().click();
    const preview = page.getByLabel('Body preview');
    await untilText(preview, 'the first message body', (t) => t === 'order 1');
    await page.getByRole('table', { name: 'Properties' }).getByRole('row', { name: /region eu/ }).waitFor();
    // A selector narrows the browser to what it matches (non-destructive: the depth stays).
    await page.getByLabel('Selector').fill("region = 'us'");
    await page.getByRole('button', { name: 'Apply selector' }).click();
    await messages.getByText('No messages match the selector.').waitFor();
    await shot(page, 'message');
    assert.equal(broker.core.queueStats().find((q) => q.name === 'console.orders')?.messages, 50);
  });

  test('a dead-lettered message is retried to its origin and consumed there', async () => {
    const c = await stomp();
    // A consumer that rejects: one delivery attempt, so the message is dead-lettered at once.
    const rejecting = await c.subscribe('/queue/console.work', { ack: 'client-individual' });
    await c.send('/queue/console.work', 'work item 7', { persistent: 'true' });
    await c.nack(await rejecting.one());
    await c.unsubscribe(rejecting);

    await page.goto(`http://127.0.0.1:${broker.ports.http}/queues/${encodeURIComponent('console.work.DLQ')}`);
    await page.getByText('dead-letter queue').waitFor();
    const messages = page.getByRole('table', { name: 'Messages' });
    await messages.getByRole('cell', { name: 'queue:console.work', exact: true }).waitFor();
    await shot(page, 'dlq');

    // A real consumer on the origin, then "Retry selected to origin" from the console.
    const consumer = await stomp();
    const inbox = await consumer.subscribe('/queue/console.work');
    await messages.getByRole('checkbox', { name: /^Select message / }).first().check();
    await page.getByRole('button', { name: 'Retry selected to origin' }).click();
    const got = await inbox.one(30_000);
    assert.equal(got.body, 'work item 7');
    await page.getByRole('status', { name: 'Job retry' }).getByText('done').waitFor({ timeout: 30_000 });
    await messages.getByText('No messages.').waitFor({ timeout: 30_000 });
  });

  test('a route is deployed from the editor (an error shown at its step, then fixed), its graph counts, it is suspended and resumed', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Routes' }).click();
    await page.getByRole('link', { name: 'Deploy a route' }).click();
    const editor = page.getByLabel('Route definition (JSON)');
    const bad = {
      id: 'console-route',
      from: 'queue:console.in',
      steps: [{ setHeader: { name: 'seen', value: true } }, { to: 'nosuch:console.out' }, { to: 'queue:console.audit' }],
    };
    await editor.fill(JSON.stringify(bad, null, 2));
    await page.getByRole('button', { name: 'Deploy' }).click();
    // The issue is at steps.1 (the bad endpoint): its node is marked and carries the message, and the
    // editor marks the line of that step.
    const issues = page.getByRole('list', { name: 'Validation issues' });
    await issues.getByRole('listitem').first().waitFor();
    const issueText = (await issues.textContent()) ?? '';
    assert.match(issueText, /steps\.1/);
    const node = page.locator('g.node[data-path="steps.1"]');
    await until('the bad step marked invalid', async () => (await node.getAttribute('class'))?.includes('invalid'));
    assert.match((await node.getAttribute('aria-label')) ?? '', /^to nosuch:console\.out; error: /);
    assert.doesNotMatch((await page.locator('g.node[data-path="steps.0"]').getAttribute('class')) ?? '', /invalid/);
    const badLine = JSON.stringify(bad, null, 2).split('\n').findIndex((l) => l.includes('nosuch:')) + 1;
    assert.match(issueText, new RegExp(`line ${badLine}\\b`));
    await page.locator('.gutter .bad').filter({ hasText: new RegExp(`^${badLine}$`) }).waitFor();
    await shot(page, 'editor-error');

    const good = { ...bad, steps: [bad.steps[0], { to: 'queue:console.out' }, bad.steps[2]] };
    await editor.fill(JSON.stringify(good, null, 2));
    await page.getByRole('button', { name: 'Deploy' }).click();
    await page.getByRole('heading', { name: /Route console-route/ }).waitFor();
    await page.getByText('started', { exact: true }).first().waitFor();

    // Messages flow: the step counters on the graph move (routes events), up to every message.
    const producer = await stomp();
    for (let i = 0; i < 10; i++) await producer.send('/queue/console.in', `m${i}`, { persistent: 'true' });
    const outNode = page.getByRole('group', { name: /^to queue:console\.out: / });
    await until('10 entered at the to step', async () => /: 10 entered/.test((await outNode.getAttribute('aria-label')) ?? ''));
    await untilText(card('Completed'), 'the route completed counter', (t) => t === '10');
    await page.locator('g.edge[aria-label$="10 entered, 0 in flight"]').first().waitFor();
    await shot(page, 'route-graph');

    await page.getByRole('button', { name: 'Suspend', exact: true }).click();
    await page.locator('h1 .state', { hasText: 'suspended' }).waitFor({ timeout: 30_000 });
    for (let i = 10; i < 15; i++) await producer.send('/queue/console.in', `m${i}`, { persistent: 'true' });
    await page.getByRole('button', { name: 'Resume', exact: true }).click();
    await page.locator('h1 .state', { hasText: 'started' }).waitFor({ timeout: 30_000 });
    await until('15 entered after the resume', async () => /: 15 entered/.test((await outNode.getAttribute('aria-label')) ?? ''));
    assert.equal(broker.core.queueStats().find((q) => q.name === 'console.out')?.messages, 15);
    assert.deepEqual(browser.errors, []);
  });

  test('a failing step is highlighted on the graph', async () => {
    // Deployed by a tool (basic auth): its one step sends where the route's user may not.
    const def = { id: 'console-failing', from: 'queue:console.f.in', errorHandler: { deadLetter: 'queue:console.f.DLQ', maxRedeliveries: 0 }, steps: [{ setHeader: { name: 'a', value: 1 } }, { to: 'queue:console.denied' }] };
    const res = await fetch(`http://127.0.0.1:${broker.ports.http}/api/v1/routes`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from('admin:admin-pw').toString('base64')}`, 'content-type': 'application/json' },
      body: JSON.stringify({ definition: def }),
    });
    assert.equal(res.status, 201, await res.text());
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Routes' }).click();
    await page.getByRole('link', { name: 'console-failing' }).click();
    await page.getByRole('heading', { name: /Route console-failing/ }).waitFor();
    const producer = await stomp();
    await producer.send('/queue/console.f.in', 'doomed', { persistent: 'true' });
    const failing = page.locator('g.node[data-path="steps.1"]');
    await until('the denied step drawn as failing', async () => (await failing.getAttribute('class'))?.includes('failing'));
    assert.match((await failing.getAttribute('aria-label')) ?? '', /: 1 entered, 0 completed, 1 failed, 0 in flight$/);
    assert.doesNotMatch((await page.locator('g.node[data-path="steps.0"]').getAttribute('class')) ?? '', /failing/);
    await page.getByRole('table', { name: 'Step counters' }).locator('tr.failing').filter({ hasText: 'queue:console.denied' }).waitFor();
    await shot(page, 'route-failing');
  });

  test('users are added, changed and removed', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Users' }).click();
    const users = page.getByRole('table', { name: 'Users' });
    await users.getByRole('button', { name: 'Change admin' }).waitFor();
    const form = page.getByRole('form', { name: 'Add user' });
    await form.getByLabel('User name').fill('carol');
    await form.getByLabel('New user password').fill('carol-pw-1');
    await form.getByLabel('Roles').fill('ops, audit');
    await form.getByRole('button', { name: 'Add user' }).click();
    const row = users.getByRole('row').filter({ has: page.getByRole('cell', { name: 'carol', exact: true }) });
    await row.getByRole('cell', { name: /^(ops, audit|audit, ops)$/ }).waitFor();
    await row.getByRole('button', { name: 'Change carol' }).click();
    const change = page.getByRole('form', { name: 'Change user carol' });
    await change.getByLabel('Roles').fill('ops');
    await change.getByRole('button', { name: 'Save' }).click();
    await row.getByRole('cell', { name: 'ops', exact: true }).waitFor();
    await shot(page, 'users');
    await row.getByRole('button', { name: 'Remove carol' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Remove user' }).click();
    await users.getByRole('cell', { name: 'carol', exact: true }).waitFor({ state: 'detached' });
    assert.deepEqual(browser.errors, []);
  });

  test('log out, then a view-only user sees the queues and is refused a change', async () => {
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByRole('button', { name: 'Log in' }).waitFor();
    await page.getByLabel('User').fill('vera');
    await page.getByLabel('Password').fill('vera-pw');
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Queues' }).click();
    await page.getByLabel('Filter').fill('console.orders');
    const row = page.getByRole('table', { name: 'Queues' }).getByRole('row').filter({ has: page.getByRole('link', { name: 'console.orders' }) });
    await untilText(row.locator('td[data-col="messages"]'), 'the depth seen by the viewer', (t) => t === '50');
    await row.getByRole('button', { name: 'Delete console.orders' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Delete queue' }).click();
    await page.getByRole('alert').filter({ hasText: 'ERR_SECURITY_UNAUTHORIZED' }).waitFor();
    await shot(page, 'viewer-denied');
    assert.equal(broker.core.queueStats().find((q) => q.name === 'console.orders')?.messages, 50);
  });
});
