import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { clampDisposition } from '../../../../src/protocols/amqp/amqp-connection.ts';
import type { RheaDeliveries, RheaDelivery } from '../../../../src/protocols/amqp/rhea-shapes.ts';

/** A session's unsettled deliveries with ids from..to (rhea keeps them contiguous). */
function deliveries(from: number, to: number): RheaDeliveries {
  const at = (id: number) => (id >= from && id <= to ? ({ id } as RheaDelivery) : undefined);
  return { by_id: at, get_head: () => at(from), get_tail: () => at(to) };
}
const none: RheaDeliveries = { by_id: () => undefined, get_head: () => undefined, get_tail: () => undefined };

describe('clampDisposition', () => {
  test('narrows a range to the unsettled deliveries', () => {
    assert.deepEqual(clampDisposition({ first: 0, last: 0xffffffff }, deliveries(5, 9)), { first: 5, last: 9 });
    assert.deepEqual(clampDisposition({ first: 7, last: 8 }, deliveries(5, 9)), { first: 7, last: 8 });
    assert.deepEqual(clampDisposition({ first: 6 }, deliveries(5, 9)), { first: 6, last: 6 }, 'no last: just first');
  });

  test('drops a range that holds no delivery, or that is not two delivery numbers', () => {
    assert.equal(clampDisposition({ first: 0, last: 4 }, deliveries(5, 9)), undefined);
    assert.equal(clampDisposition({ first: 10, last: 0xffffffff }, deliveries(5, 9)), undefined);
    assert.equal(clampDisposition({ first: 0, last: 0xffffffff }, none), undefined);
    assert.equal(clampDisposition({ first: 9, last: 5 }, deliveries(5, 9)), undefined);
    assert.equal(clampDisposition({}, deliveries(5, 9)), undefined);
    assert.equal(clampDisposition({ first: '5', last: 9 }, deliveries(5, 9)), undefined);
    assert.equal(clampDisposition({ first: 5.5, last: 9 }, deliveries(5, 9)), undefined);
  });
});
