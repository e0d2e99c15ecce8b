import type { JSX } from 'preact';
import { api, errorText, seg } from '../api.ts';
import type { RouteState } from '../api-types.ts';
import { useConfirm } from './confirm.tsx';

/** Suspend / resume / restart / undeploy buttons for one route; `onDone` with a message or an error. */
export function RouteActions(props: { id: string; state: RouteState; onDone: (info?: string, error?: string) => void; labelled?: boolean }): JSX.Element {
  const { id, state } = props;
  const [dialog, ask] = useConfirm();
  const run = async (method: string, path: string, done: string): Promise<void> => {
    try {
      await api(method, path);
      props.onDone(done);
    } catch (e) {
      props.onDone(undefined, errorText(e));
    }
  };
  const undeploy = async (): Promise<void> => {
    if (!(await ask({ title: `Undeploy route ${id}?`, body: <p>The route stops taking messages; those it holds are finished first (drain).</p>, confirm: 'Undeploy route' }))) return;
    await run('DELETE', `/routes/${seg(id)}?drain=true`, `Route ${id} undeployed.`);
  };
  // In a table the buttons name their route; on the route's own page the heading does.
  const name = (verb: string): string | undefined => (props.labelled === true ? `${verb} ${id}` : undefined);
  return (
    <span class="row-actions">
      {state === 'suspended' ? (
        <button type="button" aria-label={name('Resume')} onClick={() => void run('POST', `/routes/${seg(id)}/resume`, `Route ${id} resumed.`)}>
          Resume
        </button>
      ) : (
        <button type="button" aria-label={name('Suspend')} disabled={state !== 'started'} onClick={() => void run('POST', `/routes/${seg(id)}/suspend`, `Route ${id} suspended.`)}>
          Suspend
        </button>
      )}
      <button type="button" aria-label={name('Restart')} onClick={() => void run('POST', `/routes/${seg(id)}/restart`, `Route ${id} restarted.`)}>
        Restart
      </button>
      <button type="button" class="danger" aria-label={name('Undeploy')} onClick={() => void undeploy()}>
        Undeploy
      </button>
      {dialog}
    </span>
  );
}
