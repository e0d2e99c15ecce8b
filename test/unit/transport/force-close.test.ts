import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { test } from 'node:test';
import { forceCloseAfter } from '../../../src/transport/force-close.ts';

test('forceCloseAfter cuts off a peer that does not finish the close in time', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const socket = new EventEmitter();
  let killed = 0;
  forceCloseAfter(socket, 5000, () => killed++);
  t.mock.timers.tick(4999);
  assert.equal(killed, 0);
  t.mock.timers.tick(1);
  assert.equal(killed, 1);
});

test('forceCloseAfter lets go of a socket that closes in time (its timer is cleared on close)', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const socket = new EventEmitter();
  let killed = 0;
  forceCloseAfter(socket, 5000, () => killed++);
  socket.emit('close');
  assert.equal(socket.listenerCount('close'), 0);
  t.mock.timers.tick(10_000);
  assert.equal(killed, 0);
});
