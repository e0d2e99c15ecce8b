/**
 * `/api/v1/jobs` (issue 15): the bulk message operations started by the messages area, with their
 * progress; registered by api-messages.ts, which owns the {@link JobRunner}. The list needs `view`
 * on `MGMT.broker`; one job is readable by who started it or anyone who may `view` its queue;
 * cancelling needs `manage` on its queue.
 */
import { z } from 'zod';
import type { JobRunner } from '../jobs.ts';
import { ApiError, MGMT, type ApiApp, type ApiDeps } from './api-types.ts';
import { errors, Job } from './queue-schemas.ts';

const TAGS = ['jobs'];
const JobParams = z.object({ id: z.string().min(1).max(64) });

/** Registers the jobs routes over `jobs`. */
export function jobsApi(app: ApiApp, deps: ApiDeps, jobs: JobRunner): void {
  app.get('/jobs', {
    schema: { tags: TAGS, summary: 'Jobs running and finished in the last 15 minutes (at most 100), newest first', response: { 200: z.object({ items: z.array(Job), total: z.number() }), ...errors(401, 403) } },
    handler: async (req) => {
      deps.authorize(req, 'view', MGMT.broker);
      const items = jobs.list();
      return { items, total: items.length };
    },
  });

  app.get('/jobs/:id', {
    schema: { tags: TAGS, summary: "A job's state and progress", params: JobParams, response: { 200: Job, ...errors(401, 403, 404) } },
    handler: async (req) => {
      const job = jobs.get(req.params.id);
      const caller = deps.caller(req);
      if (!(job && job.user !== undefined && job.user === caller.user)) deps.authorize(req, 'view', job?.queue ?? MGMT.broker);
      if (!job) throw new ApiError(404, 'ERR_JOB_NOT_FOUND', `No job ${req.params.id}`);
      return job;
    },
  });

  app.delete('/jobs/:id', {
    schema: { tags: TAGS, summary: 'Cancel a running job (it stops after the slice in flight) or forget a finished one', params: JobParams, response: { 200: Job, ...errors(401, 403, 404) } },
    handler: async (req) => {
      const job = jobs.get(req.params.id);
      deps.authorize(req, 'manage', job?.queue ?? MGMT.broker);
      const ended = job && (await jobs.cancel(job.id));
      if (!ended) throw new ApiError(404, 'ERR_JOB_NOT_FOUND', `No job ${req.params.id}`);
      return ended;
    },
  });
}
