import { assign, fromPromise, setup } from 'xstate';

/** A route's lifecycle states, as the management API shows them. */
export type RouteState = 'stopped' | 'starting' | 'started' | 'suspending' | 'suspended' | 'stopping' | 'failed';

/**
 * The route lifecycle as an xstate machine: the definition here, the effects (`start`, `suspend`,
 * `stop` promises, the `resume` action) provided by the route runtime.
 */
export const routeMachine = setup({
  types: {
    context: {} as { error: string | undefined },
    events: {} as { type: 'START' } | { type: 'SUSPEND' } | { type: 'RESUME' } | { type: 'STOP' } | { type: 'FAIL'; error: string },
  },
  actors: {
    start: fromPromise<void>(async () => {}),
    suspend: fromPromise<void>(async () => {}),
    stop: fromPromise<void>(async () => {}),
  },
  actions: {
    resume: () => {},
  },
}).createMachine({
  id: 'route',
  initial: 'stopped',
  context: { error: undefined },
  states: {
    stopped: { on: { START: 'starting' } },
    starting: {
      entry: assign({ error: undefined }),
      invoke: { src: 'start', onDone: 'started', onError: { target: 'failed', actions: assign({ error: ({ event }) => String((event.error as Error)?.message ?? event.error) }) } },
    },
    started: {
      on: {
        SUSPEND: 'suspending',
        STOP: 'stopping',
        FAIL: { target: 'failed', actions: assign({ error: ({ event }) => event.error }) },
      },
    },
    suspending: {
      invoke: { src: 'suspend', onDone: 'suspended', onError: { target: 'failed', actions: assign({ error: ({ event }) => String((event.error as Error)?.message ?? event.error) }) } },
    },
    suspended: {
      on: { RESUME: { target: 'started', actions: 'resume' }, STOP: 'stopping' },
    },
    stopping: {
      invoke: { src: 'stop', onDone: 'stopped', onError: { target: 'failed', actions: assign({ error: ({ event }) => String((event.error as Error)?.message ?? event.error) }) } },
    },
    failed: {
      on: { START: 'starting', STOP: 'stopping' },
    },
  },
});
