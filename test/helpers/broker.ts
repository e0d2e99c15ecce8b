import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { createBroker, type Broker, type BrokerOptions } from '../../src/broker.ts';
import type { JunctionConfigInput } from '../../src/config/schema.ts';

export interface TestBroker extends Broker {
  dataDir: string;
  /** Closes the broker and removes its data dir. */
  stop(): Promise<void>;
}

/**
 * Starts an embedded broker on free ports (port 0) with a temp data dir and a silent logger.
 * Set JUNCTION_TEST_LOG=debug to see its log.
 */
export async function startBroker(config: JunctionConfigInput = {}, opts: BrokerOptions = {}): Promise<TestBroker> {
  const dataDir = config.dataDir ?? (await mkdtemp(path.join(tmpdir(), 'junction-test-')));
  const logger = opts.logger ?? pino({ level: process.env.JUNCTION_TEST_LOG ?? 'silent' });
  const broker = await createBroker(
    // Routes from the test's own dir only (./routes holds the samples `npm start` deploys).
    {
      ...config,
      dataDir,
      routesDir: config.routesDir ?? path.join(dataDir, 'routes'),
      ports: { stomp: 0, ws: 0, mqtt: 0, amqp: 0, http: 0, ...config.ports },
      // The management HTTPS port too (tls.ports.https), never its default 8162, when a test turns TLS on.
      ...(config.tls ? { tls: { ...config.tls, ports: { https: 0, ...config.tls.ports } } } : {}),
    },
    { ...opts, logger },
  );
  return Object.assign(broker, {
    dataDir,
    async stop() {
      await broker.close();
      if (!config.dataDir) await rm(dataDir, { recursive: true, force: true });
    },
  });
}
