import type { CoreContext } from './core-context.ts';

/** Entries the expiry sweep looks at per event-loop turn. */
const SWEEP_SLICE = 10_000;

/**
 * The periodic expiry sweep (Artemis's message-expiry scanner): every `period` ms, SWEEP_SLICE
 * entries per event-loop turn over all queues (a queue of a million expiring messages used to be
 * walked, and each expiry moved, in one turn). A sweep still running when the timer fires again is
 * left to finish. Messages also expire as they reach a consumer; this finds those nobody asks for.
 */
export class ExpirySweeper {
  private readonly ctx: CoreContext;
  private timer: NodeJS.Timeout | null = null;
  private sweeping = false;

  constructor(ctx: CoreContext) {
    this.ctx = ctx;
  }

  start(period: number): void {
    this.timer = setInterval(() => this.sweep(), period);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private sweep(): void {
    if (this.sweeping || this.ctx.closed) return;
    this.sweeping = true;
    this.slices()
      .catch((err: unknown) => this.ctx.backgroundError(err, 'expiry sweep'))
      .finally(() => (this.sweeping = false));
  }

  private async slices(): Promise<void> {
    const { ctx } = this;
    const now = ctx.now();
    const budget = { visits: SWEEP_SLICE, moves: [] as Array<Promise<void>> };
    // A slice's moves are stored before the next slice starts, so the moves in flight stay bounded too.
    const next = async (): Promise<void> => {
      await Promise.all(budget.moves);
      budget.moves.length = 0;
      await new Promise<void>((resolve) => setImmediate(resolve));
      budget.visits = SWEEP_SLICE;
    };
    for (const q of [...ctx.queues.values()]) {
      while (!q.deleted && !ctx.closed && !q.expireSweep(now, budget)) await next();
      if (budget.visits <= 0) await next();
    }
    await Promise.all(budget.moves);
  }
}
