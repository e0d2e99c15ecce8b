import assert from 'node:assert/strict';
import type { TestBroker } from './broker.ts';

/** An answer of the management API: status, headers and the parsed JSON body (undefined when empty). */
export interface ApiAnswer {
  status: number;
  headers: Headers;
  body: any;
}

/**
 * A tiny client of the management REST API over real HTTP (fetch) for the queues e2e tests:
 * `/api/v1` on the broker's HTTP port, basic auth when `user` is given.
 */
export class QueuesApi {
  readonly base: string;
  private readonly auth: string | undefined;

  constructor(broker: TestBroker, user?: { user: string; password: string }) {
    const port = broker.ports.http;
    assert.ok(port, 'the broker has an HTTP port');
    this.base = `http://${broker.config.host}:${port}/api/v1`;
    this.auth = user && 'Basic ' + Buffer.from(`${user.user}:${user.password}`).toString('base64');
  }

  async call(method: string, path: string, body?: unknown): Promise<ApiAnswer> {
    const headers: Record<string, string> = {};
    if (this.auth !== undefined) headers.authorization = this.auth;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(this.base + path, { method, headers, ...(body !== undefined && { body: JSON.stringify(body) }) });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: text === '' ? undefined : JSON.parse(text) };
  }

  /** GET that must answer 200; the body. */
  async get(path: string): Promise<any> {
    const r = await this.call('GET', path);
    assert.equal(r.status, 200, `GET ${path}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  }

  /** Raw bytes of a GET. */
  async bytes(path: string): Promise<{ status: number; headers: Headers; body: Buffer }> {
    const res = await fetch(this.base + path, { headers: this.auth !== undefined ? { authorization: this.auth } : {} });
    return { status: res.status, headers: res.headers, body: Buffer.from(await res.arrayBuffer()) };
  }

  /** Polls a job until it is no longer running; returns every state seen, the last one finished. */
  async waitJob(id: string, timeoutMs = 120_000): Promise<any[]> {
    const seen: any[] = [];
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const job = await this.get(`/jobs/${id}`);
      seen.push(job);
      if (job.state !== 'running') return seen;
      assert.ok(Date.now() < deadline, `job ${id} still running after ${timeoutMs} ms: ${JSON.stringify(job)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}
