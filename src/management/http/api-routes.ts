import type { ApiArea } from './api-types.ts';

/** /api/v1 routes of the routes area (issue 15; owner: the routes builder). */
export const routesApi: ApiArea = (app, deps) => {
  void app, deps;
};
