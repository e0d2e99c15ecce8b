import type { StateValue, StoredState } from './ports/store.ts';
import type { CoreContext } from './core-context.ts';

/**
 * Protocols' own key-value state (MQTT sessions and their in-flight ids): the core keeps, stores and
 * recovers it, and knows nothing of what it means. Keys are namespaced by the protocol (MQTT: `mqtt.`).
 */
export class ProtocolState {
  private readonly ctx: CoreContext;
  private readonly values = new Map<string, StateValue>();

  constructor(ctx: CoreContext) {
    this.ctx = ctx;
  }

  /** See `Core.putState`. */
  async put(key: string, value: StateValue | null): Promise<void> {
    this.ctx.assertOpen();
    await this.ctx.persist([{ op: 'putState', key, value }]);
    this.apply(key, value);
  }

  /** The stored state of `key`, if any. */
  get(key: string): StateValue | undefined {
    return this.values.get(key);
  }

  /** Every stored state whose key starts with `prefix` (a scan: for start-up, not per message). */
  scan(prefix: string): StoredState[] {
    const out: StoredState[] = [];
    for (const [key, value] of this.values) if (key.startsWith(prefix)) out.push({ key, value });
    return out;
  }

  /** Applies a write the store has (or one read back at recovery); `null` deletes. */
  apply(key: string, value: StateValue | null): void {
    if (value === null) this.values.delete(key);
    else this.values.set(key, value);
  }
}
