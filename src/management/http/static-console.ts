import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import type { Logger } from '../../log.ts';
import { errorReply } from './errors.ts';
import { ApiError } from './api-types.ts';

const here = fileURLToPath(import.meta.url);
/**
 * The package root: this file is src/management/http/static-console.ts in a checkout (run by tsx),
 * dist/src/management/http/static-console.js when built; the console's build is dist/console/ of
 * the package either way (`npm run build`, which `prepare` runs on install).
 */
const packageRoot = path.resolve(path.dirname(here), here.endsWith('.js') ? '../../../..' : '../../..');
/** Where Vite writes the console (src/console, built by `npm run build`). */
export const CONSOLE_DIR = path.join(packageRoot, 'dist', 'console');

const NOT_BUILT = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Junction</title></head>
<body><h1>Junction</h1>
<p>The web console is not built. Run <code>npm run build</code> in the Junction directory, then reload this page.</p>
<p>The REST API is served: <a href="/api/v1/openapi.json">/api/v1/openapi.json</a>.</p>
</body></html>
`;

/** Paths that are never the console's: an unknown one answers the API's 404, not index.html. */
function apiPath(url: string): boolean {
  return url.startsWith('/api/') || url === '/api' || url.startsWith('/metrics') || url.startsWith('/healthz') || url.startsWith('/readyz');
}

/**
 * Serves the console at `/` from dist/console (a single-page app: any other GET that is not an API
 * path answers its index.html, and the app routes in the browser). Without a build, `/` says how to
 * make one. Unknown API paths answer the API's JSON 404.
 */
export async function registerConsole(app: FastifyInstance<any, any, any, any, any>, log: Logger, dir = CONSOLE_DIR): Promise<void> {
  const built = existsSync(path.join(dir, 'index.html'));
  if (built) {
    await app.register(fastifyStatic, { root: dir, prefix: '/', wildcard: true, index: 'index.html', dotfiles: 'deny' });
  } else {
    log.info({ dir }, 'web console not built (npm run build): / says so; the API is served');
    app.get('/', { schema: { hide: true }, config: { public: true } }, async (_req, reply) => reply.type('text/html; charset=utf-8').send(NOT_BUILT));
  }
  app.setNotFoundHandler(async (req, reply) => {
    const url = req.url.split('?')[0]!;
    if (built && (req.method === 'GET' || req.method === 'HEAD') && !apiPath(url)) return reply.type('text/html; charset=utf-8').sendFile('index.html');
    const { status, body } = errorReply(new ApiError(404, 'ERR_HTTP_NOT_FOUND', `no such path: ${req.method} ${url.slice(0, 200)}`));
    return reply.code(status).send(body);
  });
}
