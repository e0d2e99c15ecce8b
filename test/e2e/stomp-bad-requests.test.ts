import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { destroyRawClients, rejects, unique } from '../helpers/stomp-bad-input.ts';

// Well-formed frames the broker must refuse: missing or invalid headers, bad destinations, unknown
// acks and transactions, bad selectors, unsupported versions. Each case runs through `rejects`:
// ERROR with message and detail, then close, while a bystander keeps working and stored messages survive.

afterEach(destroyRawClients);

describe('STOMP bad requests', () => {
  let broker: TestBroker;
  before(async () => {
    broker = await startBroker({ addressSettings: { 'full.>': { maxSizeBytes: 200, addressFullPolicy: 'FAIL' } } });
  });
  after(async () => {
    await broker.stop();
  });

  describe('missing required headers', () => {
    test('SEND without destination', async () => {
      const error = await rejects(broker, { bad: (c) => c.send('SEND', {}, 'hi') });
      assert.equal(error.header('message'), 'Missing header');
      assert.match(error.text, /destination/);
    });

    test('SUBSCRIBE without id in STOMP 1.2', async () => {
      const error = await rejects(broker, { bad: (c) => c.send('SUBSCRIBE', { destination: '/queue/x' }) });
      assert.equal(error.header('message'), 'Missing header');
      assert.match(error.text, /SUBSCRIBE requires an id header/);
    });

    test('BEGIN without transaction', async () => {
      const error = await rejects(broker, { bad: (c) => c.send('BEGIN', {}) });
      assert.equal(error.header('message'), 'Missing header');
      assert.match(error.text, /BEGIN requires a transaction header/);
    });
  });

  describe('bad destinations', () => {
    for (const [destination, detail] of [
      ['/foo/bar', /use \/queue\/NAME or \/topic\/NAME/],
      ['/queue/', /Invalid address name ''/],
      ['/queue/a..b', /empty segment/],
      ['/queue/a.*', /Wildcards are not allowed/],
    ] as const) {
      test(`SEND to ${destination}`, async () => {
        const error = await rejects(broker, { bad: (c) => c.send('SEND', { destination }, 'hi') });
        assert.equal(error.header('message'), 'Invalid destination');
        assert.match(error.text, detail);
      });
    }
  });

  describe('acknowledgements and transactions', () => {
    test('ACK of an unknown id', async () => {
      const error = await rejects(broker, { bad: (c) => c.send('ACK', { id: '987654' }) });
      assert.equal(error.header('message'), 'Unknown ack id');
      assert.match(error.text, /987654/);
    });

    test('NACK of an unknown id', async () => {
      const error = await rejects(broker, { bad: (c) => c.send('NACK', { id: '987655' }) });
      assert.equal(error.header('message'), 'Unknown ack id');
      assert.match(error.text, /987655/);
    });

    test('an ACK of a message already acknowledged', async () => {
      const name = `/queue/${unique('acked')}`;
      const error = await rejects(broker, {
        async bad(c) {
          await c.request('SEND', { destination: name }, 'one');
          c.send('SUBSCRIBE', { id: 's', destination: name, ack: 'client-individual' });
          const m = await c.nextFrame();
          await c.request('ACK', { id: m.header('ack')! });
          c.send('ACK', { id: m.header('ack')! });
        },
      });
      assert.equal(error.header('message'), 'Unknown ack id');
    });

    test('COMMIT of an unknown transaction', async () => {
      const error = await rejects(broker, { bad: (c) => c.send('COMMIT', { transaction: 'never-begun' }) });
      assert.equal(error.header('message'), 'Unknown transaction');
      assert.match(error.text, /never-begun/);
    });

    test('a duplicate BEGIN', async () => {
      const error = await rejects(broker, {
        bad(c) {
          c.send('BEGIN', { transaction: 'tx1' });
          c.send('BEGIN', { transaction: 'tx1' });
        },
      });
      assert.equal(error.header('message'), 'Transaction already started');
      assert.match(error.text, /tx1/);
    });

    test('ABORT of an unknown transaction', async () => {
      const error = await rejects(broker, { bad: (c) => c.send('ABORT', { transaction: 'never-begun' }) });
      assert.equal(error.header('message'), 'Unknown transaction');
    });

    test('a SEND in an unknown transaction is not delivered', async () => {
      const name = unique('unknown-tx');
      const error = await rejects(broker, { bad: (c) => c.send('SEND', { destination: `/queue/${name}`, transaction: 'nope' }, 'hi') });
      assert.equal(error.header('message'), 'Unknown transaction');
      assert.equal(broker.core.getQueue(name)?.messageCount ?? 0, 0);
    });
  });

  describe('other refusals', () => {
    test('a bad selector, with its position', async () => {
      const error = await rejects(broker, { bad: (c) => c.send('SUBSCRIBE', { id: 's', destination: '/queue/x', selector: "color = 'red' AND" }) });
      assert.equal(error.header('message'), 'Invalid selector');
      assert.match(error.text, /Unexpected end of selector at position 17/);
    });

    test('an unsupported version gets ERROR with a version header', async () => {
      const error = await rejects(broker, { connect: false, bad: (c) => c.send('CONNECT', { 'accept-version': '9.9', host: 'localhost' }) });
      assert.equal(error.header('version'), '1.0,1.1,1.2');
      // One stable reason in the header, the detail in the body (it was "Supported ... 1.2: Supported ... 1.2").
      assert.equal(error.header('message'), 'Unsupported STOMP version');
      assert.equal(error.text, 'Supported protocol versions are 1.0,1.1,1.2\n');
    });

    test('the ERROR carries receipt-id when the bad frame asked for a receipt', async () => {
      const error = await rejects(broker, { bad: (c) => c.send('SEND', { destination: '/foo/bar', receipt: 'bad-77' }, 'hi') });
      assert.equal(error.header('receipt-id'), 'bad-77');
    });

    test('an invalid ack mode', async () => {
      const error = await rejects(broker, { bad: (c) => c.send('SUBSCRIBE', { id: 's', destination: '/queue/x', ack: 'sometimes' }) });
      assert.equal(error.header('message'), 'Invalid header');
      assert.match(error.text, /ack mode 'sometimes'/);
    });

    test('a priority outside 0-9', async () => {
      const error = await rejects(broker, { bad: (c) => c.send('SEND', { destination: '/queue/x', priority: '12' }, 'hi') });
      assert.equal(error.header('message'), 'Invalid header');
      assert.match(error.text, /priority must be 0-9/);
    });

    test('a subscription id already in use', async () => {
      const error = await rejects(broker, {
        bad(c) {
          c.send('SUBSCRIBE', { id: 'same', destination: '/queue/x' });
          c.send('SUBSCRIBE', { id: 'same', destination: '/queue/y' });
        },
      });
      assert.match(error.text, /Subscription id 'same' is already in use/);
    });

    test('a SEND to a full queue under the FAIL policy', async () => {
      const name = `/queue/${unique('full')}`;
      const error = await rejects(broker, {
        async bad(c) {
          await c.request('SEND', { destination: name }, 'x'.repeat(100));
          c.send('SEND', { destination: name }, 'x'.repeat(100));
        },
      });
      assert.equal(error.header('message'), 'Destination is full');
    });
  });
});
