import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { eventually } from '../helpers/amqp-client.ts';
import { protonMissing, runProtonScenario } from '../helpers/python-proton.ts';

// End-to-end with python-qpid-proton (an independent AMQP 1.0 implementation) against an embedded
// broker over TCP. Each scenario is one Python process (python/amqp_proton.py) that prints JSON.

const CLIENT = path.resolve(import.meta.dirname, 'python/amqp_proton.py');

const missing = await protonMissing();

interface PyMessage {
  body: { text?: string; bytes?: string; value?: string };
  id: string | null;
  correlation_id: string | null;
  subject: string | null;
  durable: boolean;
  priority: number;
  delivery_count: number;
  properties: Record<string, unknown>;
  annotations: Record<string, string>;
  content_type: string | null;
  reply_to: string | null;
  address: string | null;
}

function py<T = Record<string, unknown>>(port: number, scenario: string, args: Record<string, unknown>): Promise<T> {
  return runProtonScenario<T>(CLIENT, port, scenario, args);
}

let broker: TestBroker;
const port = () => broker.ports.amqp!;

describe('python-qpid-proton', { skip: missing ?? false }, () => {
  before(async () => {
    broker = await startBroker({ addressSettings: { 'py.dlq.>': { maxDeliveryAttempts: 2, deadLetterAddress: 'py.dead' } } });
  });
  after(async () => {
    await broker?.stop();
  });

  test('send and receive on a queue: text, bytes, properties, priority and subject round-trip', async () => {
    const raw = Buffer.from([0, 1, 2, 250, 255]).toString('base64');
    await py(port(), 'send', {
      address: 'queue://py.q1',
      messages: [
        { body: { text: 'héllo' }, durable: true, properties: { region: 'eu', n: 7, ok: true }, priority: 7, subject: 'greeting', id: 'py-1' },
        { body: { bytes: raw }, content_type: 'application/octet-stream' },
      ],
    });
    const { messages } = await py<{ messages: PyMessage[] }>(port(), 'receive', { address: 'py.q1', count: 2 });
    assert.equal(messages.length, 2);
    const [t, b] = messages as [PyMessage, PyMessage];
    assert.equal(t.body.text, 'héllo');
    assert.equal(t.durable, true);
    assert.equal(t.priority, 7);
    assert.equal(t.subject, 'greeting');
    assert.equal(t.id, 'py-1');
    assert.deepEqual(t.properties, { region: 'eu', n: 7, ok: true });
    assert.equal(b.body.bytes, raw);
    assert.equal(b.content_type, 'application/octet-stream');
    assert.equal(broker.core.getQueue('py.q1')!.messageCount, 0);
  });

  test('map and list bodies come back as the same AMQP values', async () => {
    await py(port(), 'send', { address: 'py.values', messages: [{ body: { map: { a: 1, b: 'two' } } }, { body: { list: [1, 'x', true] } }] });
    const { messages } = await py<{ messages: PyMessage[] }>(port(), 'receive', { address: 'py.values', count: 2 });
    assert.equal(messages[0]!.body.value, "{'a': 1, 'b': 'two'}");
    assert.equal(messages[1]!.body.value, "[1, 'x', True]");
  });

  test('a selector filter delivers only matching messages', async () => {
    await py(port(), 'send', {
      address: 'py.sel',
      messages: [
        { body: { text: 'a' }, properties: { color: 'red' } },
        { body: { text: 'b' }, properties: { color: 'blue' } },
      ],
    });
    const { messages } = await py<{ messages: PyMessage[] }>(port(), 'receive', { address: 'py.sel', selector: "color = 'blue'", count: 2, timeout: 1 });
    assert.deepEqual(messages.map((m) => m.body.text), ['b']);
  });

  test('request-reply through a dynamic (temporary) reply queue', async () => {
    const out = await py<{ reply_address: string; reply: PyMessage }>(port(), 'request_reply', { service: 'py.service' });
    assert.match(out.reply_address, /^\$tmp\./);
    assert.equal(out.reply.body.text, 'pong');
    assert.equal(out.reply.correlation_id, 'c-1');
    await eventually(() => broker.core.getQueue(out.reply_address) === undefined, 'the temporary queue to go with its link');
  });

  test('rejected dead-letters; modified (delivered) maxDeliveryAttempts times dead-letters', async () => {
    await py(port(), 'send', { address: 'py.dlq.a', messages: [{ body: { text: 'bad' } }] });
    await py(port(), 'receive', { address: 'py.dlq.a', outcome: 'reject' });
    await py(port(), 'send', { address: 'py.dlq.b', messages: [{ body: { text: 'flaky' } }] });
    await py(port(), 'receive', { address: 'py.dlq.b', outcome: 'modify' });
    await py(port(), 'receive', { address: 'py.dlq.b', outcome: 'modify' });
    const { messages } = await py<{ messages: PyMessage[] }>(port(), 'receive', { address: 'py.dead', count: 2 });
    assert.deepEqual(messages.map((m) => m.body.text).sort(), ['bad', 'flaky']);
    assert.equal(broker.core.getQueue('py.dlq.b')!.messageCount, 0);
  });

  test('a committed transaction delivers its sends; a rolled-back one delivers nothing', async () => {
    const committed = await py<{ outcome: string }>(port(), 'tx_send', { address: 'py.tx', bodies: ['t1', 't2'], commit: true });
    assert.equal(committed.outcome, 'committed');
    const rolledBack = await py<{ outcome: string }>(port(), 'tx_send', { address: 'py.tx', bodies: ['never'], commit: false });
    assert.equal(rolledBack.outcome, 'aborted');
    const { messages } = await py<{ messages: PyMessage[] }>(port(), 'receive', { address: 'py.tx', count: 3, timeout: 1 });
    assert.deepEqual(messages.map((m) => m.body.text), ['t1', 't2']);
  });

  test('transactional acks: rollback returns the messages, commit removes them', async () => {
    await py(port(), 'send', { address: 'py.txack', messages: [{ body: { text: 'a' } }, { body: { text: 'b' } }] });
    const aborted = await py<{ outcome: string; messages: PyMessage[] }>(port(), 'tx_receive', { address: 'py.txack', count: 2, commit: false });
    assert.equal(aborted.outcome, 'aborted');
    assert.equal(aborted.messages.length, 2);
    assert.equal(broker.core.getQueue('py.txack')!.messageCount, 2, 'a rolled-back ack keeps the messages');
    const committed = await py<{ outcome: string; messages: PyMessage[] }>(port(), 'tx_receive', { address: 'py.txack', count: 2, commit: true });
    assert.equal(committed.outcome, 'committed');
    assert.deepEqual(committed.messages.map((m) => m.body.text).sort(), ['a', 'b']);
    assert.ok(committed.messages.every((m) => m.delivery_count >= 1), 'redelivered after the rollback');
    assert.equal(broker.core.getQueue('py.txack')!.messageCount, 0);
  });

  test('a durable subscription survives a broker restart (same data dir)', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'junction-amqp-py-'));
    try {
      let b = await startBroker({ dataDir });
      await py(b.ports.amqp!, 'durable_subscribe', { container_id: 'py-app', name: 'py-sub', address: 'topic://py.news' });
      await py(b.ports.amqp!, 'send', { address: 'topic://py.news', messages: [{ body: { text: 'while-down' }, durable: true }] });
      await b.stop();
      b = await startBroker({ dataDir });
      try {
        const { messages } = await py<{ messages: PyMessage[] }>(b.ports.amqp!, 'durable_subscribe', { container_id: 'py-app', name: 'py-sub', address: 'topic://py.news', count: 1, unsubscribe: true });
        assert.deepEqual(messages.map((m) => m.body.text), ['while-down']);
        assert.equal(b.core.getQueue('py-app.py-sub'), undefined, 'closing the link unsubscribed');
      } finally {
        await b.stop();
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
