import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DEFAULT_ADDRESS_SETTINGS, SettingsResolver, type AddressSettings } from '../../../src/core/settings.ts';

describe('DEFAULT_ADDRESS_SETTINGS', () => {
  test('follow ActiveMQ Classic: 7 deliveries, ActiveMQ.DLQ, priority 4, auto-create', () => {
    assert.equal(DEFAULT_ADDRESS_SETTINGS.maxDeliveryAttempts, 7);
    assert.equal(DEFAULT_ADDRESS_SETTINGS.deadLetterAddress, 'ActiveMQ.DLQ');
    assert.equal(DEFAULT_ADDRESS_SETTINGS.expiryAddress, undefined, 'expiry goes to the dead-letter address');
    assert.equal(DEFAULT_ADDRESS_SETTINGS.defaultPriority, 4);
    assert.equal(DEFAULT_ADDRESS_SETTINGS.autoCreate, true);
    assert.equal(DEFAULT_ADDRESS_SETTINGS.maxSizeBytes, -1);
  });
});

describe('SettingsResolver.resolve', () => {
  test('an address no pattern matches gets the defaults', () => {
    const r = new SettingsResolver({ 'orders.>': { maxDeliveryAttempts: 2 } });
    assert.deepEqual(r.resolve('billing'), DEFAULT_ADDRESS_SETTINGS);
  });

  test('the most specific matching pattern wins, whatever the declaration order', () => {
    const settings: Record<string, Partial<AddressSettings>> = {
      'orders.eu': { maxDeliveryAttempts: 4 },
      '>': { maxDeliveryAttempts: 1 },
      'orders.*': { maxDeliveryAttempts: 3 },
      'orders.>': { maxDeliveryAttempts: 2 },
    };
    const r = new SettingsResolver(settings);
    assert.equal(r.resolve('orders.eu').maxDeliveryAttempts, 4);
    assert.equal(r.resolve('orders.us').maxDeliveryAttempts, 3);
    assert.equal(r.resolve('orders.us.west').maxDeliveryAttempts, 2);
    assert.equal(r.resolve('billing').maxDeliveryAttempts, 1);
  });

  test('an exact pattern beats a > pattern that also matches the address (> matches zero segments)', () => {
    const r = new SettingsResolver({ orders: { maxDeliveryAttempts: 2 }, 'orders.>': { maxDeliveryAttempts: 5 } });
    assert.equal(r.resolve('orders').maxDeliveryAttempts, 2);
    assert.equal(r.resolve('orders.eu').maxDeliveryAttempts, 5);
  });

  test('overlays merge: a specific pattern overrides only the fields it sets', () => {
    const r = new SettingsResolver({
      '>': { deadLetterAddress: 'DLQ.all', maxDeliveryAttempts: 5 },
      'orders.>': { redeliveryDelay: 100 },
      'orders.eu': { maxDeliveryAttempts: 2 },
    });
    const s = r.resolve('orders.eu');
    assert.equal(s.deadLetterAddress, 'DLQ.all');
    assert.equal(s.redeliveryDelay, 100);
    assert.equal(s.maxDeliveryAttempts, 2);
    assert.equal(s.defaultPriority, 4, 'unset fields keep the default');
  });

  test('an undefined field in an overlay does not erase a less specific value', () => {
    const r = new SettingsResolver({ '>': { maxDeliveryAttempts: 5 }, orders: { maxDeliveryAttempts: undefined } });
    assert.equal(r.resolve('orders').maxDeliveryAttempts, 5);
  });

  test('# works as > in settings patterns', () => {
    const r = new SettingsResolver({ 'orders.#': { lastValueKey: 'k' } });
    assert.equal(r.resolve('orders.x.y').lastValueKey, 'k');
  });

  test('resolving does not change the defaults object', () => {
    const defaults = { ...DEFAULT_ADDRESS_SETTINGS };
    const r = new SettingsResolver({ '>': { maxDeliveryAttempts: 1 } }, defaults);
    r.resolve('a');
    assert.equal(defaults.maxDeliveryAttempts, 7);
  });
});

describe('SettingsResolver.redeliveryDelay', () => {
  const base = DEFAULT_ADDRESS_SETTINGS;

  test('no delay by default', () => {
    assert.equal(SettingsResolver.redeliveryDelay(base, 1), 0);
    assert.equal(SettingsResolver.redeliveryDelay(base, 5), 0);
  });

  test('a fixed delay without multiplier', () => {
    const s = { ...base, redeliveryDelay: 100 };
    assert.deepEqual([1, 2, 3].map((n) => SettingsResolver.redeliveryDelay(s, n)), [100, 100, 100]);
  });

  test('the multiplier grows the delay per delivery, up to the cap', () => {
    const s = { ...base, redeliveryDelay: 100, redeliveryMultiplier: 2, maxRedeliveryDelay: 500 };
    assert.deepEqual([1, 2, 3, 4, 5].map((n) => SettingsResolver.redeliveryDelay(s, n)), [100, 200, 400, 500, 500]);
  });

  test('a cap of 0 means no cap', () => {
    const s = { ...base, redeliveryDelay: 100, redeliveryMultiplier: 10, maxRedeliveryDelay: 0 };
    assert.equal(SettingsResolver.redeliveryDelay(s, 4), 100_000);
  });
});
