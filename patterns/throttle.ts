import { z } from 'zod';
import { Observable } from 'rxjs';
import type { Exchange, Step, StepContext, StepDescriptor } from '../src/routing/types.ts';
import { mark } from './internals.ts';

declare module '../src/routing/types.ts' {
  interface StepDefs {
    throttle: { rate: number; period?: number };
  }
}

/**
 * Throttler: at most `rate` exchanges per `period` ms (sliding window); the others wait, in order
 * (never dropped). Waiting exchanges hold the route's credit, so the broker keeps the rest.
 * @example { "throttle": { "rate": 10, "period": 1000 } }
 */
export function throttle(rate: number, period: number, ctx: StepContext): Step {
  return (source) =>
    new Observable<Exchange>((subscriber) => {
      const sent: number[] = [];
      const waiting: Exchange[] = [];
      let timer: { unsubscribe(): void } | undefined;
      let sourceDone = false;
      const pump = () => {
        timer = undefined;
        const now = ctx.scheduler.now();
        while (sent.length > 0 && sent[0]! <= now - period) sent.shift();
        while (waiting.length > 0 && sent.length < rate) {
          sent.push(now);
          subscriber.next(waiting.shift()!);
        }
        if (waiting.length > 0) timer = ctx.scheduler.schedule(pump, Math.max(0, sent[0]! + period - now));
        else if (sourceDone) subscriber.complete();
      };
      const sub = source.subscribe({
        next: (ex) => {
          mark(ex, ctx);
          waiting.push(ex);
          if (!timer) pump();
        },
        error: (e) => subscriber.error(e),
        complete: () => {
          sourceDone = true;
          if (waiting.length === 0) subscriber.complete();
        },
      });
      return () => {
        sub.unsubscribe();
        timer?.unsubscribe();
      };
    });
}

export const throttleStep: StepDescriptor<'throttle'> = {
  kind: 'throttle',
  schema: z.strictObject({ rate: z.number().int().min(1), period: z.number().int().min(1).optional() }),
  compile: (d, c) => throttle(d.rate, d.period ?? 1000, c.context),
};
