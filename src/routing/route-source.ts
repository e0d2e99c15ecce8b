import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { JunctionError } from '../errors.ts';
import type { RouteDefinition } from './definition.ts';
import { forgetRouteFile } from './route-compiler.ts';
import { loadRouteFile } from './route-file.ts';
import { routeIssues, type RouteIssue } from './route-issues.ts';

/** A route given as TypeScript source (the management API's `{source, language: 'ts'}`) could not be loaded. */
export class RouteSourceError extends JunctionError {
  readonly issues: RouteIssue[];
  constructor(issues: RouteIssue[]) {
    super('ERR_ROUTE_INVALID', issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('\n'));
    this.issues = issues;
    this.name = 'RouteSourceError';
  }
}

/**
 * Loads a `.route.ts` module given as text, exactly as a file in the routes directory is loaded
 * (route-file.ts: type-checked on the worker thread, imported with 'junction' resolving to this
 * broker): written to a private temporary directory, loaded, and removed. It must default-export
 * one route. Its type errors are issues at `source:<line>:<col>`, its definition's at their path.
 * The module runs in the broker's process with the broker's rights, as a route file does: the API
 * lets only a broker administrator deploy one (docs/management.md).
 */
export async function loadRouteSource(source: string): Promise<RouteDefinition> {
  const dir = await mkdtemp(path.join(tmpdir(), 'junction-route-source-'));
  const file = path.join(dir, 'api.route.ts');
  try {
    await writeFile(file, source, { mode: 0o600 });
    let defs: RouteDefinition[];
    try {
      defs = await loadRouteFile(file);
    } catch (err) {
      throw new RouteSourceError(routeIssues(err, file));
    }
    if (defs.length !== 1) throw new RouteSourceError([{ path: 'source', message: `the source must export default one route, it gives ${defs.length}` }]);
    return defs[0]!;
  } finally {
    forgetRouteFile(file);
    await rm(dir, { recursive: true, force: true });
  }
}
