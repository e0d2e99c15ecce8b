import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { JournalStore } from '../../../src/store/journal/journal-store.ts';
import { storeConformance } from './store-conformance.ts';

const log = { debug() {}, info() {}, warn() {}, error() {} };

// Each re-open is a new JournalStore over the same directory, as after a restart.
storeConformance('JournalStore', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'junction-conformance-'));
  return {
    store: () => new JournalStore({ dir, log, sync: { mode: 'always' }, segmentSize: 64 * 1024 }),
    dispose: () => rm(dir, { recursive: true, force: true }),
  };
});
