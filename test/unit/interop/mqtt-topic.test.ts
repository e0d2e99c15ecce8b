import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { coreToMqttTopic, encodeSegment, mqttFilterToCore, mqttMatches, mqttTopicToCore, parseShared } from '../../../src/interop/mqtt-topic.ts';

describe('MQTT topic mapping', () => {
  test('levels become segments and a . inside a level a / inside a segment, both ways', () => {
    for (const [mqtt, core] of [
      ['sensors/1/temp', 'sensors.1.temp'],
      ['a', 'a'],
      ['a/v1.2/x', 'a.v1/2.x'],
      ['$SYS/broker', '$SYS.broker'],
      ['caf\u00e9/\u6e29\u5ea6', 'caf\u00e9.\u6e29\u5ea6'],
    ]) {
      assert.equal(mqttTopicToCore(mqtt!), core);
      assert.equal(coreToMqttTopic(core!), mqtt);
    }
  });

  test('filters: + is *, # is >', () => {
    assert.equal(mqttFilterToCore('a/+/c'), 'a.*.c');
    assert.equal(mqttFilterToCore('a/#'), 'a.>');
    assert.equal(mqttFilterToCore('#'), '>');
    assert.equal(mqttFilterToCore('+/x.y'), '*.x/y');
  });

  test('refuses what core names cannot hold', () => {
    for (const bad of ['', 'a b', 'a/*/b', 'a/>', 'a/+', 'a/#', 'a\u0000b', 'a\ufffd']) {
      assert.throws(() => mqttTopicToCore(bad), { code: 'ERR_MQTT_TOPIC_INVALID' }, bad);
    }
    for (const bad of ['', 'a/#/b', 'a/b+', 'a#', 'a//+#']) {
      assert.throws(() => mqttFilterToCore(bad), { code: 'ERR_MQTT_TOPIC_INVALID' }, bad);
    }
  });

  test('an empty level is the segment ~, a level of n tildes a segment of n+1, both ways (4.7.1.1)', () => {
    for (const [mqtt, core] of [
      ['/devices/1', '~.devices.1'],
      ['a//b', 'a.~.b'],
      ['a/', 'a.~'],
      ['/', '~.~'],
      ['//', '~.~.~'],
      ['~', '~~'],
      ['~~/x', '~~~.x'],
      ['/~', '~.~~'],
      ['~x/a~/~.~', '~x.a~.~/~'],
      ['x.y/', 'x/y.~'],
    ]) {
      assert.equal(mqttTopicToCore(mqtt!), core, mqtt);
      assert.equal(coreToMqttTopic(core!), mqtt, core);
    }
    // The core name `~` alone is the empty MQTT topic, which no PUBLISH may carry: callers drop it.
    assert.equal(coreToMqttTopic('~'), '');
  });

  test('filters with empty levels: + and # still stand for whole levels', () => {
    assert.equal(mqttFilterToCore('/#'), '~.>');
    assert.equal(mqttFilterToCore('/+'), '~.*');
    assert.equal(mqttFilterToCore('+/+'), '*.*');
    assert.equal(mqttFilterToCore('a//+'), 'a.~.*');
    assert.equal(mqttFilterToCore('~/+'), '~~.*');
  });

  test('the mapping is one to one: distinct MQTT names stay distinct and every one comes back as it was', () => {
    // Every topic of up to 4 levels over an alphabet with the characters the mapping treats specially.
    const alphabet = ['', 'a', '.', '~', '~~', 'a~', '~.', 'a.b'];
    const topics = new Set<string>();
    const grow = (prefix: string[], depth: number): void => {
      if (prefix.length > 0) topics.add(prefix.join('/'));
      if (depth === 0) return;
      for (const l of alphabet) grow([...prefix, l], depth - 1);
    };
    grow([], 4);
    topics.delete('');
    const cores = new Map<string, string>();
    for (const t of topics) {
      const c = mqttTopicToCore(t);
      assert.ok(!c.split('.').some((s) => s.length === 0), `no empty segment in ${c}`);
      assert.equal(cores.get(c), undefined, `${t} and ${cores.get(c)} both map to ${c}`);
      cores.set(c, t);
      assert.equal(coreToMqttTopic(c), t);
    }
  });

  test('$share/<group>/<filter>', () => {
    assert.deepEqual(parseShared('$share/g1/a/+/c'), { group: 'g1', filter: 'a/+/c' });
    assert.equal(parseShared('a/b'), undefined);
    for (const bad of ['$share/', '$share/g', '$share/g/', '$share//a', '$share/g+/a']) {
      assert.throws(() => parseShared(bad), { code: 'ERR_MQTT_TOPIC_INVALID' }, bad);
    }
  });

  test('encodeSegment keeps [A-Za-z0-9_-] and percent-encodes every other byte', () => {
    assert.equal(encodeSegment('dev-1_a'), 'dev-1_a');
    assert.equal(encodeSegment('dev.1 x'), 'dev%2E1%20x');
    assert.equal(encodeSegment('p/#'), 'p%2F%23');
    assert.equal(encodeSegment('\u00e9'), '%C3%A9');
    assert.equal(encodeSegment(''), '%');
  });

  test('MQTT filter matching, with the $ rule', () => {
    assert.equal(mqttMatches('a/#', 'a'), true);
    assert.equal(mqttMatches('a/#', 'a/b/c'), true);
    assert.equal(mqttMatches('a/+', 'a/b'), true);
    assert.equal(mqttMatches('a/+', 'a/b/c'), false);
    assert.equal(mqttMatches('#', '$SYS/x'), false);
    assert.equal(mqttMatches('+/x', '$SYS/x'), false);
    assert.equal(mqttMatches('$SYS/#', '$SYS/x'), true);
    assert.equal(mqttMatches('/+', '/a'), true);
    assert.equal(mqttMatches('+/+', '/finance'), true);
    assert.equal(mqttMatches('/#', '/a/b'), true);
    assert.equal(mqttMatches('/#', 'a'), false);
  });
});
