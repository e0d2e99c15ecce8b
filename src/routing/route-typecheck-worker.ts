import { parentPort } from 'node:worker_threads';
import { typeCheckRoute } from './route-typecheck.ts';

/** Worker thread entry (started by route-compiler.ts): one route file per message, answered in order. */
parentPort?.on('message', (m: { id: number; file: string }) => {
  try {
    parentPort?.postMessage({ id: m.id, result: typeCheckRoute(m.file) });
  } catch (err) {
    parentPort?.postMessage({ id: m.id, error: (err as Error).stack ?? String(err) });
  }
});
