import type { ApiArea } from './api-types.ts';

/** /api/v1 routes of the queues area (issue 15; owner: the queues builder). */
export const queuesApi: ApiArea = (app, deps) => {
  void app, deps;
};
