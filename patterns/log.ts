import { z } from 'zod';
import { map } from 'rxjs';
import type { Evaluate, Step, StepContext, StepDescriptor } from '../src/routing/types.ts';
import { mark } from './internals.ts';

declare module '../src/routing/types.ts' {
  interface StepDefs {
    /** A template (`${body.id}`), or a template and a level. */
    log: string | { message: string; level?: LogLevel };
  }
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/**
 * Log: writes a line to the route's log. JSON routes give a template: `${body.id}`,
 * `${headers.x}`, `${properties.y}`, `${id}` are replaced.
 * @example { "log": "order ${body.id} for ${headers.customer}" }
 */
export function log(message: Evaluate<string>, level: LogLevel, ctx: StepContext): Step {
  return map((ex) => {
    mark(ex, ctx);
    let text: string;
    try {
      text = message(ex);
    } catch (err) {
      text = `(log template failed: ${(err as Error).message})`;
    }
    ctx.log[level]({ route: ctx.routeId, step: ctx.step, exchange: ex.id }, text);
    return ex;
  });
}

export const logStep: StepDescriptor<'log'> = {
  kind: 'log',
  schema: z.union([z.string(), z.strictObject({ message: z.string(), level: z.enum(['debug', 'info', 'warn', 'error']).optional() })]),
  compile: (d, c) => {
    const l = typeof d === 'string' ? { message: d } : d;
    return log(c.template(l.message), l.level ?? 'info', c.context);
  },
};
