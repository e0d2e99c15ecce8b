import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import tls from 'node:tls';
import { startBroker } from '../helpers/broker.ts';
import { makeCerts, tlsConfig, type TestCerts } from '../helpers/tls-certs.ts';

/*
 * Attack on the TLS listeners (issue 14 part 4): TLS 1.2 client-initiated renegotiation. Each one
 * costs the server a key exchange; Node's limit (tls.CLIENT_RENEG_LIMIT) only emits an 'error' the
 * transport took as the close reason without closing, so a client renegotiated without end.
 */

let certs: TestCerts;
before(async () => {
  certs = await makeCerts();
});
after(() => certs.remove());

function renegotiate(s: tls.TLSSocket): Promise<Error | null> {
  return new Promise((resolve) => {
    s.once('error', (err) => resolve(err));
    s.once('close', () => resolve(new Error('closed')));
    const ok = s.renegotiate({ rejectUnauthorized: true }, (err) => resolve(err ?? null));
    if (!ok) resolve(new Error('renegotiate() refused locally'));
  });
}

test('a TLS 1.2 client cannot renegotiate on any TLS listener (the server refuses it), the connection serves on or closes', async (t) => {
  const broker = await startBroker({ tls: tlsConfig(certs) });
  t.after(() => broker.stop());
  const ports = broker.ports as Record<string, number>;
  for (const name of ['stompSsl', 'mqttSsl', 'amqps', 'wss']) {
    const s = await new Promise<tls.TLSSocket>((resolve, reject) => {
      const c = tls.connect({ host: '127.0.0.1', port: ports[name]!, ca: certs.caPem, servername: 'localhost', maxVersion: 'TLSv1.2' }, () => resolve(c));
      c.once('error', reject);
    });
    const results: Array<Error | null> = [];
    for (let i = 0; i < 5 && !s.destroyed; i++) results.push(await renegotiate(s));
    s.destroy();
    assert.ok(results.length > 0 && results.every((r) => r !== null), `${name}: renegotiations the server went through: ${results.filter((r) => r === null).length} of ${results.length}`);
  }
});
