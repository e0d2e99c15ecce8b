import type { ApiArea } from './api-types.ts';

/** /api/v1 routes of the auth area (issue 15; owner: the http builder). */
export const authApi: ApiArea = (app, deps) => {
  void app, deps;
};
