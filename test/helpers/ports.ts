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
