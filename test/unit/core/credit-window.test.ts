import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CreditWindow } from '../../../src/core/credit-window.ts';

test('credit window: given back at once while open, held while blocked, all of it returned on release', () => {
  const w = new CreditWindow(10);
  assert.equal(w.give(1, false), 1);
  assert.equal(w.held, 0);
  assert.equal(w.give(1, true), 0);
  assert.equal(w.give(2, true), 0);
  w.hold(4); // unused credit taken back from the sender
  assert.equal(w.held, 7);
  assert.equal(w.give(1, false), 1, 'an open give does not release what is held');
  assert.equal(w.release(), 7);
  assert.equal(w.held, 0);
  assert.equal(w.release(), 0);
});

test('credit window: room tops up to the window, never below zero', () => {
  const w = new CreditWindow(10);
  assert.equal(w.room(0), 10);
  assert.equal(w.room(7), 3);
  assert.equal(w.room(12), 0, 'more outstanding than the window (acks in a transaction extend it)');
});

test('credit window: refill holds the room left, and never less than already held', () => {
  const w = new CreditWindow(10);
  w.refill(4);
  assert.equal(w.held, 6);
  w.refill(8);
  assert.equal(w.held, 6, 'what is held stays');
  w.hold(1);
  assert.equal(w.release(), 7);
  w.refill(12);
  assert.equal(w.held, 0, 'a negative room holds nothing');
});
