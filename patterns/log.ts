import { map } from 'rxjs';
import type { Evaluate, Step, StepContext } from '../src/routing/types.ts';
import { mark } from './internals.ts';

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
