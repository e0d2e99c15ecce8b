import type { JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, errorText, seg } from '../api.ts';
import type { Job } from '../api-types.ts';
import { fmtNum } from './common.tsx';

/**
 * A bulk message job's progress (`GET /jobs/:id`, polled twice a second while it runs), with a
 * Cancel button; `onDone` once it has finished, whatever the outcome.
 */
export function JobProgress(props: { job: Job; onDone: (job: Job) => void }): JSX.Element {
  const [job, setJob] = useState<Job>(props.job);
  const [error, setError] = useState<string | undefined>(undefined);
  useEffect(() => {
    if (job.state !== 'running') {
      props.onDone(job);
      return;
    }
    const t = setTimeout(() => {
      api<Job | { job: Job }>('GET', `/jobs/${seg(job.id)}`).then(
        (j) => setJob('job' in j ? j.job : j),
        (e: unknown) => setError(errorText(e)),
      );
    }, 500);
    return () => clearTimeout(t);
  }, [job]);
  const pct = job.total > 0 ? Math.min(100, Math.round(((job.processed + job.skipped) / job.total) * 100)) : job.state === 'running' ? 0 : 100;
  return (
    <div class="job" role="status" aria-label={`Job ${job.action}`}>
      <span>
        {job.action} on {job.queue}: <strong>{job.state}</strong>, {fmtNum(job.processed)} processed, {fmtNum(job.skipped)} skipped of {fmtNum(job.total)}
        {job.error !== undefined && <span class="error"> ({job.error})</span>}
        {error !== undefined && <span class="error"> ({error})</span>}
      </span>
      <progress max={100} value={pct} aria-label={`${job.action} progress`} />
      {job.state === 'running' && (
        <button type="button" onClick={() => void api('DELETE', `/jobs/${seg(job.id)}`).catch((e: unknown) => setError(errorText(e)))}>
          Cancel job
        </button>
      )}
    </div>
  );
}
