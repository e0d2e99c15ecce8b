import { authApi } from './api-auth.ts';
import { connectionsApi } from './api-connections.ts';
import { definitionsApi } from './api-definitions.ts';
import { messagesApi } from './api-messages.ts';
import { overviewApi } from './api-overview.ts';
import { queuesApi } from './api-queues.ts';
import { routesApi } from './api-routes.ts';
import type { ApiArea } from './api-types.ts';
import { usersApi } from './api-users.ts';

/** Every API area, registered under `/api/v1` by server.ts in this order. One file per area. */
export const API_AREAS: ReadonlyArray<readonly [name: string, area: ApiArea]> = [
  ['auth', authApi],
  ['overview', overviewApi],
  ['queues', queuesApi],
  ['messages', messagesApi],
  ['connections', connectionsApi],
  ['routes', routesApi],
  ['users', usersApi],
  ['definitions', definitionsApi],
];
