import type { ApiArea } from './api-types.ts';

/** /api/v1 routes of the connections area (issue 15; owner: the connections builder). */
export const connectionsApi: ApiArea = (app, deps) => {
  void app, deps;
};
