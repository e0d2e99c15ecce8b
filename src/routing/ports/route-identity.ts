import type { Subject } from '../../core/ports/security.ts';

/**
 * Who a route runs as (issue 14 part 8), given by the composition root when security is on and
 * implemented by the security manager, so routing never imports `src/security`. `user` is the
 * route's `runAs`, undefined for the configured default (`security.routes.defaultUser`). Returns the
 * user's subject, or undefined when there is no such user (or no default): the route is then not
 * deployed. Called once per deploy; the subject is kept for the life of that route version.
 */
export type RouteIdentityResolver = (user: string | undefined) => Subject | undefined;
