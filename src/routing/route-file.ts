import { readFile } from 'node:fs/promises';
import { JunctionError } from '../errors.ts';
import { validateDefinition, type RouteDefinition } from './definition.ts';
import { compileRouteFile } from './route-compiler.ts';
import { importRoute } from './route-loader.ts';

/** Route files: `*.route.json` and `*.route.ts`. */
export function isRouteFile(file: string): boolean {
  return file.endsWith('.route.json') || file.endsWith('.route.ts');
}

/**
 * Loads and validates the routes of one file: a JSON object (or an array of them), or a
 * TypeScript module whose default export is a builder, a definition, or an array of either.
 * Errors name the file and the JSON path of the bad part.
 */
export async function loadRouteFile(file: string): Promise<RouteDefinition[]> {
  // TypeScript is type-checked first (once per change; its errors name file:line:column), then
  // loaded as an ES module wherever it is, afresh each time (a changed file redeploys), with
  // 'junction' resolving to this broker's own package: route-compiler.ts, route-loader.ts.
  const compiled = file.endsWith('.json') ? undefined : await compileRouteFile(file);
  let raw: unknown;
  try {
    if (compiled === undefined) {
      const text = await readFile(file, 'utf8');
      raw = JSON.parse(text);
    } else {
      const mod = await importRoute(compiled);
      if (mod.default === undefined) throw new Error('a .route.ts file must export default route(...)');
      raw = mod.default;
    }
  } catch (err) {
    throw new JunctionError('ERR_ROUTE_INVALID', `${file}: ${(err as Error).message}`, { cause: err });
  }
  const list = Array.isArray(raw) ? raw : [raw];
  const seen = new Map<string, number>();
  return list.map((d, i) => {
    const def = d !== null && typeof d === 'object' && typeof (d as { build?: unknown }).build === 'function' ? (d as { build(): unknown }).build() : d;
    const where = list.length > 1 ? `${file} [${i}]` : file;
    let out: RouteDefinition;
    try {
      out = validateDefinition(def);
    } catch (err) {
      throw new JunctionError('ERR_ROUTE_INVALID', `${where}: ${(err as Error).message}`, { cause: err });
    }
    // The second deploy of an id would replace the first without a word.
    const first = seen.get(out.id);
    if (first !== undefined) throw new JunctionError('ERR_ROUTE_INVALID', `${where}: id: route id '${out.id}' is also the id of [${first}]`);
    seen.set(out.id, i);
    return out;
  });
}
