import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { tsImport } from 'tsx/esm/api';
import { JunctionError } from '../errors.ts';
import { validateDefinition, type RouteDefinition } from './definition.ts';

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
  let raw: unknown;
  try {
    if (file.endsWith('.json')) {
      const text = await readFile(file, 'utf8');
      raw = JSON.parse(text);
    } else {
      // tsx's tsImport loads the file afresh each time (a plain import() is cached by path for a
      // file the loader takes as CommonJS, whatever the query), so a changed file redeploys.
      const mod = (await tsImport(path.resolve(file), import.meta.url)) as { default?: unknown };
      let d = mod.default;
      // A CommonJS-compiled module (no "type": "module" above it) comes wrapped once more.
      if (d !== null && typeof d === 'object' && 'default' in d && !('build' in d) && !('id' in d)) d = (d as { default: unknown }).default;
      if (d === undefined) throw new Error('a .route.ts file must export default route(...)');
      raw = d;
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
