import type { Exchange } from '../types.ts';

/**
 * Where a route's exchanges come from. A source creates each exchange with a settlement that
 * acknowledges (or returns) the message to where it came from, and grants credit as exchanges
 * settle: at most `maxInflight` unsettled at a time.
 */
export interface Source {
  readonly uri: string;
  /** Connects and starts delivering to `emit` (unless paused). */
  start(emit: (ex: Exchange) => void): Promise<void>;
  /** Stops delivering new messages (credit 0); in-flight exchanges may still settle. */
  pause(): void;
  resume(): void;
  /** Disconnects; unsettled messages go back to their broker. */
  stop(): Promise<void>;
  /** Removes state kept for the route (a durable subscription) when the route is undeployed. */
  remove?(): Promise<void>;
}
