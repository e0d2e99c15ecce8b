import type { Step, StepContext } from '../src/routing/types.ts';
import { mark, withBranches } from './internals.ts';

/**
 * Multicast: a copy of the exchange goes through each branch (in parallel); the exchange itself
 * continues at once, and its source message is settled when every copy is.
 * @example { "multicast": ["queue:audit", [{ "setHeader": { "name": "copy", "value": true } }, { "to": "queue:b" }]] }
 */
export function multicast(branches: Step[], ctx: StepContext): Step {
  return withBranches(branches, false, (ex, bs, emit) => {
    mark(ex, ctx);
    for (const b of bs) b.push(ex.derive());
    emit(ex);
  });
}
