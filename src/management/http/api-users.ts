import type { ApiArea } from './api-types.ts';

/** /api/v1 routes of the users area (issue 15; owner: the http builder). */
export const usersApi: ApiArea = (app, deps) => {
  void app, deps;
};
