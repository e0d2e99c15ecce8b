import { asyncScheduler, from, lastValueFrom, toArray, type SchedulerLike } from 'rxjs';
import { createExchange, messageOf } from '../../../src/routing/exchange.ts';
import type { ErrorHandling, Exchange, ExchangeMessage, Outcome, Producer, RedeliveryPolicy, Step, StepContext } from '../../../src/routing/types.ts';
import { Expressions } from '../../../src/routing/expression.ts';

/** An exchange whose outcome the test can read. */
export interface TestExchange extends Exchange {
  outcome(): Outcome | undefined;
}

let n = 0;

export function ex(body: unknown, headers: ExchangeMessage['headers'] = {}): TestExchange {
  let outcome: Outcome | undefined;
  const e = createExchange({ routeId: 'test', message: messageOf(body, headers), onSettled: (o) => (outcome = o) }) as TestExchange;
  e.outcome = () => outcome;
  (e.properties as Record<string, unknown>).n = ++n;
  return e;
}

/** A producer that records what it was sent; `fail` makes the first sends reject. */
export class RecordingProducer implements Producer {
  readonly uri: string;
  readonly sent: unknown[] = [];
  failures: number;
  calls = 0;
  reply: ((ex: Exchange) => ExchangeMessage) | undefined;

  constructor(uri = 'queue:out', failures = 0) {
    this.uri = uri;
    this.failures = failures;
  }

  async send(e: Exchange): Promise<void> {
    this.calls++;
    if (this.failures > 0) {
      this.failures--;
      throw new Error(`${this.uri} is down`);
    }
    this.sent.push(e.body());
  }

  async request(e: Exchange): Promise<ExchangeMessage> {
    this.calls++;
    if (!this.reply) throw new Error('no reply configured');
    return this.reply(e);
  }
}

export interface Failure {
  ex: Exchange;
  step: string;
  error: Error;
  attempts: number;
}

export interface TestContext extends StepContext {
  failures: Failure[];
  producers: Map<string, RecordingProducer>;
}

/** A step context: failures recorded and nacked, producers recorded per URI. */
export function context(opts: { scheduler?: SchedulerLike; policy?: Partial<RedeliveryPolicy> } = {}): TestContext {
  const failures: Failure[] = [];
  const producers = new Map<string, RecordingProducer>();
  const errors: ErrorHandling = {
    policy: { maxRedeliveries: 0, redeliveryDelay: 0, backoffMultiplier: 1, maxRedeliveryDelay: 0, ...opts.policy },
    fail: (e, step, error, attempts) => {
      failures.push({ ex: e, step, error, attempts });
      e.nack(error);
    },
  };
  return {
    routeId: 'test',
    step: 'steps[0]',
    log: { debug() {}, info() {}, warn() {}, error() {} },
    scheduler: opts.scheduler ?? asyncScheduler,
    errors,
    failures,
    producers,
    producer(uri) {
      let p = producers.get(uri);
      if (!p) producers.set(uri, (p = new RecordingProducer(uri)));
      return p;
    },
    newExchange: (message, onSettled, properties) => createExchange({ routeId: 'test', message, onSettled, ...(properties ? { properties } : {}) }),
  };
}

/** Runs exchanges through a step to completion; returns what came out. */
export function run(step: Step, input: Exchange[]): Promise<Exchange[]> {
  return lastValueFrom(from(input).pipe(step, toArray()));
}

/** Bodies of exchanges. */
export function bodies(list: Exchange[]): unknown[] {
  return list.map((e) => e.body());
}

const expressions = new Expressions();
/** A json-logic rule compiled with a shared test instance. */
export function rule<T = unknown>(r: unknown) {
  return expressions.compile<T>(r);
}
export function pred(r: unknown) {
  return expressions.predicate(r);
}
