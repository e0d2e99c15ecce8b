/**
 * `/api/v1/users` and `/api/v1/permissions` (issue 15 with issue 14's users file; docs/management.md#users-and-permissions):
 * list, add, change and remove the users of `security.usersFile`, written atomically as
 * `junction user` writes it (src/security/users-file.ts), then reloaded before the answer so the
 * change is in force when the caller hears of it (the file watcher would take it ~200 ms later).
 * Reading needs `view` on `$sys.mgmt.users`, changing `manage`. Never a password hash in an answer.
 * Without a users file (security off, or an embedding application's own SecurityManager): 409.
 */
import { z } from 'zod';
import { FileSecurityManager } from '../../security/file-security-manager.ts';
import { hashPassword } from '../../security/password-hash.ts';
import { MAX_PASSWORD_BYTES, readUsersForEdit, saveUsersFile, userName, type UserEntry } from '../../security/users-file.ts';
import { pageList, parseSort } from '../list-page.ts';
import { ApiError, MGMT, type ApiArea, type ApiDeps } from './api-types.ts';
import { errors, pageOf, PageQuery } from './queue-schemas.ts';

const TAGS = ['users'];
const Password = z.string().min(1).refine((p) => Buffer.byteLength(p) <= MAX_PASSWORD_BYTES, `at most ${MAX_PASSWORD_BYTES} bytes`);
const Roles = z.array(z.string().min(1).max(256)).max(1000);
const Certificates = z.array(z.string().min(1).max(4096)).max(1000).describe('client certificate subject DNs or SANs (DNS:x) this user logs in with');
const User = z.object({ name: z.string(), roles: z.array(z.string()), certificates: z.array(z.string()), password: z.boolean().describe('whether the user has a password (false: certificate only)') });
const UserParams = z.object({ user: userName });

function view(name: string, u: UserEntry): z.infer<typeof User> {
  return { name, roles: u.roles, certificates: u.certificates, password: u.password !== undefined };
}

/** The routes of the users area. */
export const usersApi: ApiArea = (app, deps) => {
  /** Edits one after another: two at once would each read the file and the second write lose the first. */
  let editing: Promise<unknown> = Promise.resolve();
  const edit = <T>(change: (users: Map<string, UserEntry>) => Promise<T>): Promise<T> => {
    const run = editing.then(async () => {
      const file = usersFile(deps);
      const users = new Map(Object.entries((await readUsersForEdit(file)).users));
      const result = await change(users);
      await saveUsersFile(file, users);
      await deps.ctx.security!.reload();
      return result;
    });
    editing = run.catch(() => {});
    return run;
  };
  const read = async () => new Map(Object.entries((await readUsersForEdit(usersFile(deps))).users));

  app.get('/users', {
    schema: {
      tags: TAGS,
      summary: 'The users of the users file (names, roles, certificates; never a password hash)',
      querystring: z.object({ filter: z.string().max(256).optional(), ...PageQuery }),
      response: { 200: pageOf(User), ...errors(400, 401, 403, 409) },
    },
    handler: async (req) => {
      deps.authorize(req, 'view', MGMT.users);
      const { filter, limit, cursor } = req.query;
      const items = [...(await read())].filter(([name]) => filter === undefined || name.includes(filter)).map(([name, u]) => view(name, u));
      return pageList(items, { order: parseSort(undefined, ['name']), limit, cursor, name: (u) => u.name, value: (u) => u.name });
    },
  });

  app.get('/users/:user', {
    schema: { tags: TAGS, summary: 'One user', params: UserParams, response: { 200: User, ...errors(401, 403, 404, 409) } },
    handler: async (req) => {
      deps.authorize(req, 'view', MGMT.users);
      const u = (await read()).get(req.params.user);
      if (!u) throw notFound(req.params.user);
      return view(req.params.user, u);
    },
  });

  app.post('/users', {
    schema: {
      tags: TAGS,
      summary: 'Add a user (with a password, certificates, or both)',
      body: z.object({ name: userName, password: Password.optional(), roles: Roles.default([]), certificates: Certificates.default([]) }),
      response: { 201: User, ...errors(400, 401, 403, 409) },
    },
    handler: async (req, reply) => {
      deps.authorize(req, 'manage', MGMT.users);
      const { name, password, roles, certificates } = req.body;
      if (password === undefined && certificates.length === 0) throw new ApiError(400, 'ERR_HTTP_VALIDATION', 'a user needs a password or a certificate', [{ path: 'password', message: 'required without certificates' }]);
      const hash = password === undefined ? undefined : await hashPassword(password);
      const entry = await edit(async (users) => {
        if (users.has(name)) throw new ApiError(409, 'ERR_HTTP_USER_EXISTS', `user '${name}' already exists (PUT changes it)`);
        const e: UserEntry = { ...(hash === undefined ? {} : { password: hash }), roles, certificates };
        users.set(name, e);
        return e;
      });
      audit(deps, req.method, name, deps.caller(req).user);
      return reply.code(201).send(view(name, entry));
    },
  });

  app.put('/users/:user', {
    schema: {
      tags: TAGS,
      summary: "Change a user's password, roles or certificates (what is left out stays)",
      params: UserParams,
      body: z.object({ password: Password.optional(), roles: Roles.optional(), certificates: Certificates.optional() }),
      response: { 200: User, ...errors(400, 401, 403, 404, 409) },
    },
    handler: async (req) => {
      deps.authorize(req, 'manage', MGMT.users);
      const name = req.params.user;
      const { password, roles, certificates } = req.body;
      const hash = password === undefined ? undefined : await hashPassword(password);
      const entry = await edit(async (users) => {
        const old = users.get(name);
        if (!old) throw notFound(name);
        const e: UserEntry = { ...old, ...(hash === undefined ? {} : { password: hash }), ...(roles ? { roles } : {}), ...(certificates ? { certificates } : {}) };
        users.set(name, e);
        return e;
      });
      audit(deps, req.method, name, deps.caller(req).user);
      return view(name, entry);
    },
  });

  app.delete('/users/:user', {
    schema: { tags: TAGS, summary: 'Remove a user (its open connections stay; new logins are refused)', params: UserParams, response: { 204: z.null(), ...errors(401, 403, 404, 409) } },
    handler: async (req, reply) => {
      deps.authorize(req, 'manage', MGMT.users);
      await edit(async (users) => {
        if (!users.delete(req.params.user)) throw notFound(req.params.user);
      });
      audit(deps, req.method, req.params.user, deps.caller(req).user);
      return reply.code(204).send(null);
    },
  });

  app.get('/permissions', {
    schema: {
      tags: TAGS,
      summary: 'The configured permissions (security.permissions: address pattern -> permission -> roles) and anonymousRoles',
      response: { 200: z.object({ security: z.boolean(), permissions: z.record(z.string(), z.record(z.string(), z.array(z.string()))), anonymousRoles: z.array(z.string()) }), ...errors(401, 403) },
    },
    handler: async (req) => {
      deps.authorize(req, 'view', MGMT.users);
      const s = deps.ctx.config.security;
      return { security: deps.ctx.security !== undefined, permissions: s.permissions as Record<string, Record<string, string[]>>, anonymousRoles: s.anonymousRoles };
    },
  });
};

/** The users file this broker reads, or 409: security off, or another SecurityManager decides who the users are. */
function usersFile(deps: ApiDeps): string {
  const file = deps.ctx.config.security.usersFile;
  if (!deps.ctx.security) throw new ApiError(409, 'ERR_HTTP_SECURITY_OFF', 'security is off: there is no users file (set security.usersFile)');
  if (!(deps.ctx.security instanceof FileSecurityManager) || file === undefined) {
    throw new ApiError(409, 'ERR_HTTP_NO_USERS_FILE', 'users are managed by the embedding application\'s security manager, not a users file');
  }
  return file;
}

function notFound(name: string): ApiError {
  return new ApiError(404, 'ERR_HTTP_USER_NOT_FOUND', `no user '${name}'`);
}

/** Who changed which user (the security audit log says what the reload changed). */
function audit(deps: ApiDeps, method: string, user: string, by: string | undefined): void {
  deps.ctx.log.child({ component: 'audit' }).info({ event: 'users.edit', method, user, by }, 'user changed through the management API');
}
