import type { ApiArea } from './api-types.ts';

/** /api/v1 routes of the definitions area (issue 15; owner: the http builder). */
export const definitionsApi: ApiArea = (app, deps) => {
  void app, deps;
};
