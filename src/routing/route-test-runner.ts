import { isDeepStrictEqual } from 'node:util';
import { z } from 'zod';
import type { Core } from '../core/core.ts';
import type { Message } from '../core/message.ts';
import { isWildcard, wildcardMatches } from '../core/wildcard.ts';
import type { RouteDefinition } from './definition.ts';
import { destinationOf } from './endpoints/envelope.ts';

/**
 * Route test cases (`junction route test`, `POST /api/v1/routes/:id/test`): feed input messages
 * to a route deployed on a broker of its own and check the messages that arrive at each output
 * address. The CLI gives each case a fresh in-process broker; the management API a fresh core with
 * the memory store (RouteManager.attachSandbox), never the live broker, whose addresses carry real
 * traffic a test would consume or add to.
 */

const messageSpec = z.strictObject({
  body: z.unknown().optional(),
  headers: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])).optional(),
  /** Input only: where to send it (default: the route's `from`). */
  to: z.string().optional(),
});

/** One case, as a cases file or the API's `{cases}` gives it. */
export const routeTestCase = z.strictObject({
  name: z.string(),
  /**
   * The concrete address the inputs are published to (default: the route's `from`). A `from` with
   * wildcards (`topic:sensors.*.temp`) is no address a message can be sent to: the case names one
   * that it matches, or the runner picks one.
   */
  address: z.string().optional(),
  input: z.array(messageSpec),
  /** Address -> the messages expected there, in order (an empty list: none). */
  expect: z.record(z.string(), z.array(messageSpec.omit({ to: true }))),
  /** ms to wait for the outputs (default 5000). */
  timeout: z.number().int().min(1).optional(),
});

export type RouteTestCase = z.infer<typeof routeTestCase>;

export interface CaseResult {
  name: string;
  passed: boolean;
  /** Why it failed. */
  problems: string[];
}

/** What a case runs against: a core, and a deploy onto it (a RouteManager's). */
export interface RouteTestTarget {
  core: Core;
  deploy(def: RouteDefinition): Promise<unknown>;
  /** Exchanges the deployed routes hold now (a case is over when they hold none). */
  inFlight(): number;
}

function bodyOf(m: Message): unknown {
  const text = m.body.toString('utf8');
  try {
    return JSON.parse(text);
  } catch {
    return text; // not JSON: compare as text
  }
}

/**
 * A concrete address a message can be published to for a route's `from`: `*` becomes one segment
 * and `>` (or `#`) one segment, so the name matches the wildcard (src/core/wildcard.ts). A `from`
 * without wildcards is itself.
 */
export function concreteAddress(from: string): string {
  const colon = from.indexOf(':');
  const scheme = from.slice(0, colon + 1);
  const rest = from.slice(colon + 1);
  const q = rest.indexOf('?');
  const name = q >= 0 ? rest.slice(0, q) : rest;
  if (!isWildcard(name)) return from;
  return scheme + name.split('.').map((seg) => (seg === '*' || seg === '>' || seg === '#' ? 'test' : seg)).join('.');
}

/** Where the case's inputs go by default: its `address`, checked against the route's `from`, or one picked for it. */
function caseAddress(from: string, c: RouteTestCase): string {
  if (c.address === undefined) return concreteAddress(from);
  const a = destinationOf(c.address);
  const f = destinationOf(from);
  if (isWildcard(a.name)) throw new Error(`address: ${c.address} has wildcards; name the concrete address the inputs are published to`);
  // An address the route does not read would pass a case that expects nothing and fail the others for an unclear reason.
  if ((from.startsWith('queue:') || from.startsWith('topic:')) && (a.type !== f.type || !wildcardMatches(f.name, a.name))) {
    throw new Error(`address: ${c.address} does not match the route's from ${from}`);
  }
  return c.address;
}

function inputBody(b: unknown): { body: Buffer; bodyType: 'text' | 'json' } {
  if (typeof b === 'string') return { body: Buffer.from(b), bodyType: 'text' };
  return { body: Buffer.from(JSON.stringify(b ?? null)), bodyType: 'json' };
}

/** Runs one case: consumers on the expected addresses, the routes deployed, the inputs sent, the outputs compared. */
export async function runRouteCase(target: RouteTestTarget, defs: readonly RouteDefinition[], c: RouteTestCase, signal?: AbortSignal): Promise<CaseResult> {
  const { core } = target;
  const received = new Map<string, Message[]>();
  for (const address of Object.keys(c.expect)) {
    const got: Message[] = [];
    received.set(address, got);
    const consumer = await core.createConsumer({ destination: destinationOf(address), autoAck: true, sink: { deliver: (d) => got.push(d.message) } });
    consumer.grant(1_000_000);
  }
  for (const d of defs) await target.deploy(d);
  const from = caseAddress(defs[0]!.from, c);
  for (const [i, m] of c.input.entries()) {
    const to = m.to ?? from;
    if (!to.startsWith('queue:') && !to.startsWith('topic:')) throw new Error(`input[${i}]: the route reads from ${to}; give the input a "to" address on this broker`);
    await core.send({ destination: destinationOf(to), ...inputBody(m.body), durable: true, properties: { ...m.headers } });
  }
  // Done when every address has its messages and the routes hold nothing, or at the timeout.
  const deadline = Date.now() + (c.timeout ?? 5000);
  const complete = () => Object.entries(c.expect).every(([a, ms]) => (received.get(a)?.length ?? 0) >= ms.length) && target.inFlight() === 0;
  let quiet = 0;
  while (Date.now() < deadline && !signal?.aborted) {
    // Two consecutive checks 20 ms apart, so a message on its way is not missed.
    quiet = complete() ? quiet + 1 : 0;
    if (quiet >= 3) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  const problems: string[] = [];
  for (const [address, expected] of Object.entries(c.expect)) {
    const got = received.get(address)!;
    if (got.length !== expected.length) problems.push(`${address}: expected ${expected.length} message(s), got ${got.length}${got.length > 0 ? `: ${got.map((m) => JSON.stringify(bodyOf(m))).join(', ')}` : ''}`);
    expected.forEach((e, i) => {
      const m = got[i];
      if (!m) return;
      if (e.body !== undefined && !isDeepStrictEqual(bodyOf(m), e.body)) problems.push(`${address}[${i}]: body ${JSON.stringify(bodyOf(m))}, expected ${JSON.stringify(e.body)}`);
      for (const [k, v] of Object.entries(e.headers ?? {})) {
        if (m.properties[k] !== v && String(m.properties[k]) !== String(v)) problems.push(`${address}[${i}]: header ${k} = ${JSON.stringify(m.properties[k])}, expected ${JSON.stringify(v)}`);
      }
    });
  }
  return { name: c.name, passed: problems.length === 0, problems };
}

/** What {@link runSandboxCases} deploys with on a sandbox core (a RouteManager of its own). */
export interface SandboxRoutes {
  deploy(def: RouteDefinition): Promise<unknown>;
  list(): Array<{ stats: { inFlight: number } }>;
  close(): Promise<void>;
}

/**
 * Runs each case on a fresh sandbox core with routes of its own; a case's timeout is capped at
 * `maxTimeout` ms. `signal` aborted (the broker closing): the case waiting ends now and the rest are
 * not run, so no sandbox core outlives the broker (20 cases of 30 s kept the process up 10 minutes).
 */
export async function runSandboxCases(
  sandbox: () => Promise<{ core: Core; close(): Promise<void> }>,
  routesOn: (core: Core) => SandboxRoutes,
  def: RouteDefinition,
  cases: readonly RouteTestCase[],
  maxTimeout: number,
  signal?: AbortSignal,
): Promise<CaseResult[]> {
  const results: CaseResult[] = [];
  for (const c of cases) {
    if (signal?.aborted) {
      results.push({ name: c.name, passed: false, problems: ['not run: the broker is closing'] });
      continue;
    }
    const box = await sandbox();
    const routes = routesOn(box.core);
    try {
      const target = { core: box.core, deploy: (d: RouteDefinition) => routes.deploy(d), inFlight: () => routes.list().reduce((n, r) => n + r.stats.inFlight, 0) };
      results.push(await runRouteCase(target, [def], { ...c, timeout: Math.min(c.timeout ?? 5000, maxTimeout) }, signal));
    } catch (err) {
      results.push({ name: c.name, passed: false, problems: [`error: ${(err as Error).message}`] });
    } finally {
      await routes.close().catch(() => {});
      await box.close().catch(() => {});
    }
  }
  return results;
}
