import { createExchange } from '../exchange.ts';
import type { Exchange } from '../types.ts';
import type { Source } from './source.ts';

/**
 * `timer:NAME?period=ms[&repeatCount=n][&delay=ms]`: an exchange every period (empty body, headers
 * `timerName`, `timerCounter`, `timerFiredTime`). A tick is skipped while `maxInflight` exchanges
 * are unsettled, so a slow route is not flooded.
 */
export class TimerSource implements Source {
  readonly uri: string;
  private readonly name: string;
  private readonly period: number;
  private readonly repeatCount: number;
  private readonly initialDelay: number;
  private readonly routeId: string;
  private readonly maxInflight: number;
  private timer: NodeJS.Timeout | undefined;
  private paused = false;
  private counter = 0;
  private inflight = 0;
  private emit: (ex: Exchange) => void = () => {};

  constructor(uri: string, name: string, period: number, options: URLSearchParams, routeId: string, maxInflight: number) {
    this.uri = uri;
    this.name = name;
    this.period = period;
    this.repeatCount = Number(options.get('repeatCount') ?? 0);
    this.initialDelay = Number(options.get('delay') ?? period);
    this.routeId = routeId;
    this.maxInflight = maxInflight;
  }

  async start(emit: (ex: Exchange) => void): Promise<void> {
    this.emit = emit;
    this.schedule(this.initialDelay);
  }

  private schedule(ms: number): void {
    if (this.paused) return;
    this.timer = setTimeout(() => {
      this.fire();
      if (this.repeatCount === 0 || this.counter < this.repeatCount) this.schedule(this.period);
    }, ms);
  }

  private fire(): void {
    if (this.inflight >= this.maxInflight) return;
    this.inflight++;
    this.counter++;
    const now = Date.now();
    this.emit(
      createExchange({
        routeId: this.routeId,
        message: { body: Buffer.alloc(0), bodyType: 'text', headers: { timerName: this.name, timerCounter: this.counter, timerFiredTime: now }, durable: true, destination: this.uri, timestamp: now },
        onSettled: () => this.inflight--,
      }),
    );
  }

  pause(): void {
    this.paused = true;
    clearTimeout(this.timer);
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.schedule(this.period);
  }

  async stop(): Promise<void> {
    this.pause();
  }
}
