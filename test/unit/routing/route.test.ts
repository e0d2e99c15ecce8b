import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Core } from '../../../src/core/core.ts';
import { validateDefinition } from '../../../src/routing/definition.ts';
import { RouteEndpoints } from '../../../src/routing/endpoints/endpoints.ts';
import type { Source } from '../../../src/routing/endpoints/source.ts';
import { createExchange, messageOf } from '../../../src/routing/exchange.ts';
import { Expressions } from '../../../src/routing/expression.ts';
import { Route } from '../../../src/routing/route.ts';
import type { Exchange, Outcome } from '../../../src/routing/types.ts';

const quiet = { debug() {}, info() {}, warn() {}, error() {} };

/** A source the test drives: it can deliver after `pause`, as an AMQP link does while its credit drains. */
class DrivenSource implements Source {
  readonly uri = 'queue:in';
  emit: (ex: Exchange) => void = () => {};
  private onPause: () => void = () => {};
  readonly paused = new Promise<void>((resolve) => (this.onPause = resolve));
  async start(emit: (ex: Exchange) => void): Promise<void> {
    this.emit = emit;
  }
  pause(): void {
    this.onPause();
  }
  resume(): void {}
  async stop(): Promise<void> {}
}

function exchange(outcomes: Outcome[]): Exchange {
  return createExchange({ routeId: 'r', message: messageOf('m'), onSettled: (o) => outcomes.push(o) });
}

test('a route that is stopping hands back (releases) what its source still delivers, at once', async (t) => {
  const source = new DrivenSource();
  const original = RouteEndpoints.prototype.source;
  RouteEndpoints.prototype.source = () => source;
  t.after(() => {
    RouteEndpoints.prototype.source = original;
  });
  const expressions = new Expressions();
  t.after(() => expressions.dispose());
  let finish: () => void = () => {};
  const def = validateDefinition({ id: 'r', from: 'queue:in', drainTimeout: 3_600_000, steps: [{ process: () => new Promise<void>((r) => (finish = r)) }] });
  const route = new Route(def, 1, 'api', { core: {} as Core, expressions, log: quiet, repository: () => ({ has: () => false, add: async () => {}, remove: async () => {} }) });
  await route.start();
  const held: Outcome[] = [];
  source.emit(exchange(held));
  const stopped = route.stop();
  await source.paused;
  // 1. In transit when the source paused: not processed, and not left unsettled until the drain timeout.
  const late: Outcome[] = [];
  source.emit(exchange(late));
  assert.deepEqual(late, [{ kind: 'release' }]);
  // 2. The one in flight finishes and the stop completes.
  finish();
  await stopped;
  assert.deepEqual(held, [{ kind: 'ack' }]);
  assert.equal(route.stats().inFlight, 0);
});

test('deploy of an invalid definition rejects (a promise-returning API does not throw at the call)', async () => {
  const { RouteManager } = await import('../../../src/routing/route-manager.ts');
  const manager = new RouteManager({} as Core, quiet);
  let result: Promise<unknown> | undefined;
  assert.doesNotThrow(() => {
    result = manager.deploy({ id: 'not valid', from: 'queue:a', steps: [] });
  });
  await assert.rejects(result!, /^RouteDefinitionError: id: route ids are letters/);
  await assert.rejects(manager.deploy({ build: () => { throw new Error('builder bug'); } }), /builder bug/);
  await manager.close();
});
