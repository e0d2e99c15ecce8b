import type { ApiArea } from './api-types.ts';

/** /api/v1 routes of the overview area (issue 15; owner: the telemetry builder). */
export const overviewApi: ApiArea = (app, deps) => {
  void app, deps;
};
