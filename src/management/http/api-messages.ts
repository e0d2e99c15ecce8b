import type { ApiArea } from './api-types.ts';

/** /api/v1 routes of the messages area (issue 15; owner: the queues builder). */
export const messagesApi: ApiArea = (app, deps) => {
  void app, deps;
};
