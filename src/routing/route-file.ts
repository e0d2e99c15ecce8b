import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { JunctionError } from '../errors.ts';
import { validateDefinition, type RouteDefinition } from './definition.ts';

/** Route files: `*.route.json` and `*.route.ts`. */
export function isRouteFile(file: string): boolean {
  return file.endsWith('.route.json') || file.endsWith('.route.ts');
}

let loadSeq = 0;

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
      const { mtimeMs } = await stat(file);
      // A query per load makes the module loader read a changed file again (redeploy).
      const mod = (await import(`${pathToFileURL(path.resolve(file)).href}?v=${mtimeMs}-${++loadSeq}`)) as { default?: unknown };
      if (mod.default === undefined) throw new Error('a .route.ts file must export default route(...)');
      raw = mod.default;
    }
  } catch (err) {
    throw new JunctionError('ERR_ROUTE_INVALID', `${file}: ${(err as Error).message}`, { cause: err });
  }
  const list = Array.isArray(raw) ? raw : [raw];
  return list.map((d, i) => {
    const def = d !== null && typeof d === 'object' && typeof (d as { build?: unknown }).build === 'function' ? (d as { build(): unknown }).build() : d;
    try {
      return validateDefinition(def);
    } catch (err) {
      const where = list.length > 1 ? `${file} [${i}]` : file;
      throw new JunctionError('ERR_ROUTE_INVALID', `${where}: ${(err as Error).message}`, { cause: err });
    }
  });
}
