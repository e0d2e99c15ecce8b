import { Observable, Subscription } from 'rxjs';
import type { Exchange, Producer, Step, StepContext, StepDescriptor } from '../src/routing/types.ts';
import { uri } from './definitions.ts';
import { attempt, mark } from './internals.ts';

declare module '../src/routing/types.ts' {
  interface StepDefs {
    /** The endpoint URI a copy goes to. */
    wireTap: string;
  }
}

/**
 * Wire tap: sends a copy to an endpoint without waiting for it; the exchange continues at once.
 * The copy is still part of the settlement: the source message is acknowledged only once the tap
 * has it too (at-least-once for the tap as well). The sends belong to the step's subscription:
 * the step completes once its source has and every send is done, and a route that stops before
 * (drain timeout) makes no more attempts; the unsettled source messages go back to the broker.
 * @example { "wireTap": "queue:audit" }
 */
export function wireTap(producer: Producer, ctx: StepContext): Step {
  return (source) =>
    new Observable<Exchange>((subscriber) => {
      const sends = new Subscription();
      let pending = 0;
      let sourceDone = false;
      const sent = (send: Subscription | undefined) => {
        pending--;
        if (send) sends.remove(send);
        if (sourceDone && pending === 0) subscriber.complete();
      };
      sends.add(
        source.subscribe({
          next: (ex) => {
            mark(ex, ctx);
            const copy = ex.derive();
            pending++;
            let done = false;
            let send: Subscription | undefined = undefined;
            // Completes either way: acked, or failed to the error handler (maybe synchronously).
            send = attempt(ctx, copy, () => producer.send(copy)).subscribe({
              next: () => copy.ack(),
              complete: () => {
                done = true;
                sent(send);
              },
            });
            if (!done) sends.add(send);
            subscriber.next(ex);
          },
          error: (e) => subscriber.error(e),
          complete: () => {
            sourceDone = true;
            if (pending === 0) subscriber.complete();
          },
        }),
      );
      return sends;
    });
}

export const wireTapStep: StepDescriptor<'wireTap'> = {
  kind: 'wireTap',
  schema: uri,
  compile: (u, c) => wireTap(c.producer(u, c.path), c.context),
};
