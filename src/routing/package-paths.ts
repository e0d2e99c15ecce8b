import { createHash } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/**
 * Where the running broker's own package is, for route files that import 'junction': its
 * TypeScript sources in a checkout (this file is src/routing/package-paths.ts), its compiled
 * dist/ when installed (dist/src/routing/package-paths.js).
 */
const here = fileURLToPath(import.meta.url);
/** True when running the compiled build (dist/). */
export const built = here.endsWith('.js');
/** src/ (or dist/src/). */
export const srcDir = path.resolve(path.dirname(here), '..');
/** patterns/ (or dist/patterns/). */
export const patternsDir = path.resolve(srcDir, '..', 'patterns');
/** The package root: package.json and node_modules. */
export const packageRoot = path.resolve(srcDir, built ? '../..' : '..');

/** What `import ... from 'junction'` loads in a route file: the running broker's own modules (the same instances). */
export const packageEntries: Readonly<Record<string, string>> = {
  junction: pathToFileURL(path.join(srcDir, built ? 'index.js' : 'index.ts')).href,
  'junction/patterns': pathToFileURL(path.join(patternsDir, built ? 'index.js' : 'index.ts')).href,
};

/** The same for the type checker: the sources, or the shipped declarations. */
export const typeEntries: Readonly<Record<string, string[]>> = {
  junction: [path.join(srcDir, built ? 'index.d.ts' : 'index.ts')],
  'junction/patterns': [path.join(patternsDir, built ? 'index.d.ts' : 'index.ts')],
};

/**
 * A file belongs to a route (is checked, transpiled and loaded afresh with it) unless it is the
 * broker's own (src/ and patterns/, so a route in ./routes that imports ../src/routing/builder.ts
 * gets the running instance) or a package's.
 */
export function isRouteLocal(file: string): boolean {
  const f = path.resolve(file);
  return !f.endsWith('.d.ts') && !f.split(path.sep).includes('node_modules') && !f.startsWith(srcDir + path.sep) && !f.startsWith(patternsDir + path.sep);
}

/** A route file's content hash (sha1, base64): what the type-check cache compares. */
export function contentStamp(text: string): string {
  return createHash('sha1').update(text).digest('base64');
}
