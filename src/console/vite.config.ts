/**
 * Vite build of the web console (issue 15): `npm run build` runs `vite build --config
 * src/console/vite.config.ts` after the tsc build, so `prepare` (run by `npm ci` on a fresh clone)
 * leaves the single-page app in dist/console, which the management HTTP server serves at `/`.
 *
 * JSX is compiled by Vite 8's own transformer (oxc) with Preact's automatic runtime, so no Babel
 * preset is needed. Everything is bundled: the console loads nothing from the internet (no CDN,
 * no web fonts), as a broker console on an isolated network must.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = (p: string): string => fileURLToPath(new URL(p, import.meta.url));

export default defineConfig({
  root: here('.'),
  base: '/',
  publicDir: false,
  logLevel: 'warn',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: here('../../dist/console'),
    // The output is outside the root: Vite empties it only when told to.
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    reportCompressedSize: false,
  },
});
