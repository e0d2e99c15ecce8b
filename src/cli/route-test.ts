import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { createBroker, type Broker } from '../broker.ts';
import { JunctionError } from '../errors.ts';
import { createLogger } from '../log.ts';
import { Expressions } from '../routing/expression.ts';
import { loadRouteFile } from '../routing/route-file.ts';
import { Route } from '../routing/route.ts';
import { concreteAddress, routeTestCase, runRouteCase, type CaseResult, type RouteTestCase } from '../routing/route-test-runner.ts';

/**
 * `junction route test`: runs a route file against an in-process broker, case by case, feeding
 * input messages and checking the messages that arrive at each output address.
 */

const casesFile = z.union([z.array(routeTestCase), z.strictObject({ cases: z.array(routeTestCase) })]);

export { concreteAddress, type CaseResult, type RouteTestCase };

export async function loadCases(file: string): Promise<RouteTestCase[]> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new JunctionError('ERR_ROUTE_INVALID', `${file}: ${(err as Error).message}`);
  }
  const r = casesFile.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new JunctionError('ERR_ROUTE_INVALID', `${file}: ${issue.path.join('.') || '(top)'}: ${issue.message}`);
  }
  return Array.isArray(r.data) ? r.data : r.data.cases;
}

/**
 * Validates a route file as a deploy would (schema, steps, expressions, endpoint URIs, JSON
 * Schemas), compiling it without a broker; returns the route ids.
 */
export async function checkRouteFile(file: string): Promise<string[]> {
  const defs = await loadRouteFile(file);
  const expressions = new Expressions();
  try {
    for (const d of defs) {
      try {
        Route.check(d, { expressions, log: createLogger('silent') });
      } catch (err) {
        throw new JunctionError('ERR_ROUTE_INVALID', `${file}: ${(err as Error).message}`);
      }
    }
    return defs.map((d) => d.id);
  } finally {
    expressions.dispose();
  }
}

/** Runs every case, each on a fresh broker; `onResult` is called as each finishes. */
export async function runRouteTests(routeFile: string, cases: RouteTestCase[], onResult: (r: CaseResult) => void = () => {}): Promise<CaseResult[]> {
  const defs = await loadRouteFile(routeFile);
  const results: CaseResult[] = [];
  for (const c of cases) {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'junction-route-test-'));
    let broker: Broker | undefined;
    try {
      broker = await createBroker(
        { dataDir, routesDir: path.join(dataDir, 'no-routes'), store: { type: 'memory' }, ports: { stomp: 0, ws: 0, mqtt: 0, amqp: 0, http: 0 } },
        { logger: createLogger(process.env.JUNCTION_TEST_LOG ?? 'silent') },
      );
      const b = broker;
      const r = await runRouteCase({ core: b.core, deploy: (d) => b.routes.deploy(d), inFlight: () => b.routes.list().reduce((n, x) => n + x.stats.inFlight, 0) }, defs, c);
      results.push(r);
      onResult(r);
    } catch (err) {
      const r = { name: c.name, passed: false, problems: [`error: ${(err as Error).message}`] };
      results.push(r);
      onResult(r);
    } finally {
      await broker?.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  }
  return results;
}
