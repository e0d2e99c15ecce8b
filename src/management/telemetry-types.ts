/**
 * The once-a-second sampler the overview, the console's charts and the SSE stream read (issue 15).
 * Contract by the lead; implemented in telemetry.ts by the telemetry builder. Sampling reads the
 * core's counters (O(queues)) once a second; nothing is added on the per-message path.
 */
import type { BrokerTotals } from '../core/handles.ts';
import type { AdapterName } from '../transport/protocol-adapter.ts';

export interface Sample {
  /** Epoch ms. */
  readonly at: number;
  readonly totals: BrokerTotals;
  /** Per second over the last interval: messages sent, enqueued, acked (delivered and settled), expired, dead-lettered. */
  readonly rates: { readonly sent: number; readonly enqueued: number; readonly acked: number; readonly expired: number; readonly deadLettered: number };
  readonly connections: Readonly<Record<AdapterName, number>>;
  readonly memory: { readonly limitBytes: number; readonly usedBytes: number; readonly blockedSends: number };
  /** Active alarms (memory over 90% of the limit, blocked sends, disk errors, routes failed), as short codes with text. */
  readonly alarms: ReadonlyArray<{ readonly code: string; readonly message: string }>;
}

export interface Telemetry {
  latest(): Sample;
  /** Samples of the last `seconds` (at most the retained window: 15 minutes), oldest first. */
  history(seconds: number): Sample[];
  /** Called after each sample; returns the unsubscribe. */
  subscribe(cb: (s: Sample) => void): () => void;
  close(): void;
}
