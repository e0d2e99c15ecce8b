import { z } from 'zod';
import type { Step, StepContext, StepDef, StepDescriptor } from '../src/routing/types.ts';
import { stepList, uri } from './definitions.ts';
import { mark, withBranches } from './internals.ts';
import { to } from './to.ts';

declare module '../src/routing/types.ts' {
  interface StepDefs {
    /** Each branch an endpoint URI or a list of steps. */
    multicast: Array<string | StepDef[]>;
  }
}

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

export const multicastStep: StepDescriptor<'multicast'> = {
  kind: 'multicast',
  schema: z.array(z.union([uri, stepList])).min(1),
  nested: ['[]'],
  compile: (branches, c) =>
    multicast(
      branches.map((b, i) => {
        const at = `${c.path}[${i}]`;
        return typeof b === 'string' ? to(c.producer(b, at), c.contextAt(at)) : c.steps(b, at);
      }),
      c.context,
    ),
};
