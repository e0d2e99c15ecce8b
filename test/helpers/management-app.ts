import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors, serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Permission } from '../../src/core/ports/security.ts';
import type { ManagementContext } from '../../src/management/context.ts';
import { ApiError, type ApiArea, type ApiDeps, type Caller } from '../../src/management/http/api-types.ts';
import type { Telemetry } from '../../src/management/telemetry-types.ts';

/** Who may do what in an app served by {@link serveAreas}: user (header `x-user`) -> [permission, name] pairs. No header: allowed. */
export type Grants = Record<string, Array<[Permission, string]>>;

/**
 * Serves API areas under `/api/v1` on a throwaway fastify app on 127.0.0.1 port 0, with the
 * error shape of the API contract (api-types.ts) and an authorizer driven by `x-user` and
 * `grants` (the real server and its auth are the http builder's; this tests an area over real HTTP).
 */
export async function serveAreas(ctx: Partial<ManagementContext>, areas: ApiArea[], grants: Grants = {}): Promise<{ app: FastifyInstance; url: string }> {
  const user = (req: FastifyRequest) => req.headers['x-user'] as string | undefined;
  const caller = (req: FastifyRequest): Caller => ({ subject: undefined, user: user(req), via: 'none', origin: { component: 'management' } });
  const deps: ApiDeps = {
    ctx: ctx as ManagementContext,
    telemetry: {} as Telemetry,
    caller,
    authorize(req, permission, address) {
      const u = user(req);
      if (u !== undefined && !grants[u]?.some(([p, a]) => p === permission && a === address)) throw new ApiError(403, 'ERR_SECURITY_UNAUTHORIZED', `${u} may not ${permission} ${address}`);
      return caller(req);
    },
  };
  const app = Fastify().withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.setErrorHandler((err, _req, reply) => {
    if (err instanceof ApiError) return reply.code(err.status).send({ error: { code: err.code, message: err.message, ...(err.issues ? { issues: err.issues } : {}) } });
    if (hasZodFastifySchemaValidationErrors(err)) return reply.code(400).send({ error: { code: 'ERR_VALIDATION', message: err.message } });
    const status = (err as { statusCode?: number }).statusCode ?? 500;
    return reply.code(status).send({ error: { code: status === 500 ? 'ERR_INTERNAL' : String((err as { code?: string }).code), message: (err as Error).message } });
  });
  await app.register(
    async (api) => {
      for (const area of areas) await area(api as never, deps);
    },
    { prefix: '/api/v1' },
  );
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address() as { port: number };
  return { app, url: `http://127.0.0.1:${address.port}/api/v1` };
}
