import net from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';

/**
 * Waits until something accepts TCP connections on loopback `port` (a broker started as a child
 * process takes a moment to bind). Resolves true once it does, false after `timeoutMs` or as soon
 * as `alive()` says the process behind it is gone.
 */
export async function listening(port: number, timeoutMs = 10_000, alive: () => boolean = () => true): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port }, () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return true;
    if (Date.now() > deadline || !alive()) return false;
    await delay(50);
  }
}

/**
 * `count` distinct loopback ports that were free a moment ago: each is bound to port 0 at once (so
 * the OS hands out different ones), read and released. For programs that must be told a port
 * (a shared test harness, an external broker) instead of binding 0 themselves; never a default port.
 */
export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: count }, () => new Promise<net.Server>((resolve, reject) => {
      const s = net.createServer();
      s.once('error', reject);
      s.listen(0, '127.0.0.1', () => resolve(s));
    })),
  );
  const ports = servers.map((s) => (s.address() as net.AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}

/** One free loopback port (see freePorts). */
export async function freePort(): Promise<number> {
  return (await freePorts(1))[0]!;
}
