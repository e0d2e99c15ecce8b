import { MemoryStore } from '../../../src/store/memory-store.ts';
import { storeConformance } from './store-conformance.ts';

// The memory store survives a close and re-open of the same instance (embedded use), not a
// process restart: its backing is the one instance.
storeConformance('MemoryStore', async () => {
  const store = new MemoryStore();
  return { store: () => store, dispose: async () => {} };
});
