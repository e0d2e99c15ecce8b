/**
 * What the management plane (issue 15: HTTP API, console, /metrics, SSE) is given by the composition
 * root. It sits above everything but the CLI: it reads the core through its facade, the routes
 * through the RouteManager, connections through the ConnectionDirectory, and checks permissions
 * through the security manager. It never reaches into a protocol or the core's internals.
 */
import type { JunctionConfig } from '../config/schema.ts';
import type { Core } from '../core/core.ts';
import type { Logger } from '../log.ts';
import type { RouteManager } from '../routing/route-manager.ts';
import type { SecurityManager } from '../security/security-manager.ts';
import type { JournalStats } from '../store/journal/journal-types.ts';
import type { ConnectionDirectory } from '../transport/connection-directory.ts';

/** Why the broker is not ready (`GET /readyz` 503 lists them); empty: ready. */
export type ReadinessCheck = () => string[];

export interface ManagementContext {
  readonly version: string;
  /** Epoch ms the broker started. */
  readonly startedAt: number;
  readonly config: JunctionConfig;
  readonly core: Core;
  readonly routes: RouteManager;
  readonly connections: ConnectionDirectory;
  /** Undefined while security is off: every management call is then allowed (loopback default, see safe-defaults). */
  readonly security: SecurityManager | undefined;
  /** The journal's counters (undefined with the memory store). */
  journalStats(): JournalStats | undefined;
  /** Ports bound, as ports.json has them (the CLI asks which protocol ports to use). */
  ports(): Record<string, number | undefined>;
  /** Journal recovered, listeners bound, routes started: the reasons it is not (yet) ready. */
  readiness: ReadinessCheck;
  /** Reloads users and certificates (SIGHUP's `Broker.reload`). */
  reload(): Promise<void>;
  readonly log: Logger;
}
