import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { runJunction } from '../helpers/junction-cli.ts';

/**
 * `junction` management commands against a hand-written HTTP server that answers what a real
 * broker may (401, 403, 404, 400 with issues) and what a hostile or broken one may (no answer,
 * an endless body, escape codes): exit codes 3/4/5/1, one line on stderr, nothing hangs.
 */

let server: http.Server;
let url = '';
const seen: Array<{ path: string; authorization?: string }> = [];
const err = (res: http.ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
};

before(async () => {
  server = http.createServer((req, res) => {
    const p = new URL(req.url!, 'http://x').pathname;
    seen.push({ path: p, ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}) });
    const auth = req.headers.authorization;
    if (p === '/api/v1/queues') {
      if (auth === `Basic ${Buffer.from('alice:secret').toString('base64')}` || auth === 'Bearer tok-1') {
        return err(res, 200, { items: [{ name: 'orders', messages: 7, consumers: 1, enqueued: 9, acked: 2, inDelivery: 1, deadLettered: 0 }] });
      }
      return err(res, 401, { error: { code: 'ERR_UNAUTHENTICATED', message: 'log in first' } });
    }
    if (p === '/api/v1/queues/secret/pause') return err(res, 403, { error: { code: 'ERR_SECURITY_UNAUTHORIZED', message: "user viewer may not manage 'secret'" } });
    if (p === '/api/v1/queues/missing/messages') return err(res, 404, { error: { code: 'ERR_NOT_FOUND', message: 'no queue missing' } });
    if (p === '/api/v1/routes') return err(res, 400, { error: { code: 'ERR_ROUTE_INVALID', message: 'invalid route', issues: [{ path: 'steps.1.to', message: 'unknown scheme' }] } });
    if (p === '/api/v1/connections') return err(res, 500, { error: { code: 'ERR_INTERNAL', message: 'boom\u001b[2J\u001b[31mred' } });
    if (p === '/api/v1/queues/slow/pause') return; // never answers
    if (p === '/api/v1/queues/huge/messages') {
      res.writeHead(200, { 'content-type': 'application/json' });
      const chunk = Buffer.alloc(1024 * 1024, 0x20);
      let n = 0;
      const pump = (): void => {
        while (n < 40) {
          n++;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end();
      };
      res.on('error', () => {});
      return pump();
    }
    res.writeHead(502, { 'content-type': 'text/html' });
    res.end('<html>bad gateway</html>');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
});
after(() => {
  server.closeAllConnections();
  server.close();
});

const junction = (args: string[], env: NodeJS.ProcessEnv = {}) => runJunction(args, env);

function oneLine(r: { err: string }, re: RegExp): void {
  const lines = r.err.split('\n').filter((l) => l !== '');
  assert.equal(lines.length, 1, r.err);
  assert.match(lines[0]!, re);
}

test('401 without credentials (and no terminal to ask on): exit 3, one line', async () => {
  const r = await junction(['queue', 'stat', '--url', url]);
  assert.equal(r.code, 3, r.err);
  oneLine(r, /^junction: ERR_UNAUTHENTICATED: log in first \(log in with --user, the password from JUNCTION_PASSWORD or a prompt, or --token\)$/);
});

test('the password comes from JUNCTION_PASSWORD (basic auth); a wrong one is exit 3', async () => {
  let r = await junction(['queue', 'stat', '--url', url, '--user', 'alice'], { JUNCTION_PASSWORD: 'secret' });
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^NAME +MESSAGES +CONSUMERS +ENQUEUED +ACKED +IN DELIVERY +DLQ\norders +7 +1 +9 +2 +1 +0\n$/);
  r = await junction(['queue', 'stat', '--url', url], { JUNCTION_USER: 'alice', JUNCTION_PASSWORD: 'wrong' });
  assert.equal(r.code, 3, r.err);
});

test('--token is sent as a bearer token; --json prints the queues as JSON', async () => {
  const r = await junction(['queue', 'stat', '--url', url, '--token', 'tok-1', '--json']);
  assert.equal(r.code, 0, r.err);
  assert.equal((JSON.parse(r.out) as Array<{ name: string }>)[0]!.name, 'orders');
  assert.ok(seen.some((s) => s.authorization === 'Bearer tok-1'));
});

test('403 is exit 3, 404 exit 4; with --json the error is the API shape on one line', async () => {
  let r = await junction(['queue', 'pause', 'secret', '--url', url]);
  assert.equal(r.code, 3);
  oneLine(r, /^junction: ERR_SECURITY_UNAUTHORIZED: user viewer may not manage 'secret'$/);
  r = await junction(['browse', 'missing', '--url', url, '--json']);
  assert.equal(r.code, 4);
  oneLine(r, /^\{"error":/);
  assert.deepEqual(JSON.parse(r.err), { error: { code: 'ERR_NOT_FOUND', message: 'no queue missing' } });
});

test('a validation error (400) is exit 1 with each issue and its path on the one line', async () => {
  const r = await junction(['route', 'list', '--url', url]);
  assert.equal(r.code, 1);
  oneLine(r, /^junction: ERR_ROUTE_INVALID: invalid route \(steps\.1\.to: unknown scheme\)$/);
});

test("the server's text never reaches the terminal with escape codes; a non-API answer is reported by status", async () => {
  let r = await junction(['connection', 'list', '--url', url]);
  assert.equal(r.code, 1);
  assert.doesNotMatch(r.err, /\u001b/);
  oneLine(r, /^junction: ERR_INTERNAL: boom\?\[2J\?\[31mred$/);
  r = await junction(['queue', 'resume', 'x', '--url', url]);
  assert.equal(r.code, 1);
  oneLine(r, /^junction: HTTP_502: POST \/api\/v1\/queues\/x\/resume answered 502 Bad Gateway$/);
});

test('a server that never answers is cut at --timeout (exit 5); an endless body at the size cap (exit 1)', async () => {
  let r = await junction(['queue', 'pause', 'slow', '--url', url, '--timeout', '1']);
  assert.equal(r.code, 5);
  oneLine(r, /^junction: cannot connect to http:\/\/127\.0\.0\.1:\d+: no complete answer within 1000 ms$/);
  r = await junction(['browse', 'huge', '--url', url]);
  assert.equal(r.code, 1);
  oneLine(r, /larger than 16777216 bytes/);
});

test('nothing listening: exit 5; a bad --url or option: exit 2', async () => {
  const closed = net.createServer();
  closed.listen(0, '127.0.0.1');
  await once(closed, 'listening');
  const port = (closed.address() as net.AddressInfo).port;
  closed.close();
  let r = await junction(['queue', 'stat', '--url', `http://127.0.0.1:${port}`]);
  assert.equal(r.code, 5);
  oneLine(r, /^junction: cannot connect to http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED/);
  r = await junction(['queue', 'stat', '--url', 'ftp://x']);
  assert.equal(r.code, 2);
  oneLine(r, /^junction: --url must be http:\/\/ or https:\/\//);
  r = await junction(['queue', 'stat', '--bogus']);
  assert.equal(r.code, 2);
  oneLine(r, /^junction: unknown option '--bogus'/);
  r = await junction(['queue', 'stat', '--sort', 'size', '--url', url]);
  assert.equal(r.code, 2);
  oneLine(r, /^junction: --sort must be one of/);
});
