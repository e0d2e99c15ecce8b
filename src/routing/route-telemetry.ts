/**
 * A deployed route as the console draws it and the metrics count it (issue 15). Contract written by
 * the lead; the routing builder implements `RouteManager.graphModel` / `stepStats` over it.
 */

/** Upper bounds (seconds) of the processing-time histogram buckets, Prometheus style (cumulative, +Inf implied). */
export const STEP_SECONDS_BUCKETS: readonly number[] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export interface RouteGraphNode {
  /** Stable for a given definition: the same definition redeployed gives the same ids (`from`, or the step's path). */
  readonly id: string;
  /**
   * Where the node is in the route definition, as a JSON path from the definition's root
   * (`from`, `steps.2`, `steps.1.choice.when.0.steps.0`): validation errors name the same paths,
   * so the editor can place an error at its step.
   */
  readonly path: string;
  /** The step kind (`to`, `filter`, `choice`, `setHeader`, ...), `from` for the source. */
  readonly kind: string;
  /** Short text for the node (an endpoint URI without its password, an expression abbreviated). */
  readonly label: string;
  readonly shape: 'source' | 'step' | 'endpoint' | 'decision';
}

export interface RouteGraphEdge {
  readonly from: string;
  readonly to: string;
  /** A branch's label (`when: ...`, `otherwise`, `onException`). */
  readonly label?: string;
}

/** A route's steps and the flow between them (nodes in definition order). */
export interface RouteGraphModel {
  readonly routeId: string;
  readonly nodes: readonly RouteGraphNode[];
  readonly edges: readonly RouteGraphEdge[];
}

/**
 * Counters of one node since the route was deployed (or restarted). Edge counts on the graph are
 * the `entered` of the edge's target. Kept as plain counters on the step's own object: nothing is
 * allocated per exchange.
 */
export interface StepStats {
  /** `RouteGraphNode.id`. */
  readonly id: string;
  /** Exchanges that reached the step. */
  readonly entered: number;
  /** Exchanges the step finished with (passed on, or ended the route there as a filter does). */
  readonly completed: number;
  /** Exchanges whose step threw (before any error handler or redelivery took them). */
  readonly failed: number;
  /** Exchanges in the step now (entered, neither completed nor failed). */
  readonly inFlight: number;
  /** Processing time histogram: cumulative counts per `STEP_SECONDS_BUCKETS` bound, then the total count and sum (seconds). */
  readonly buckets: readonly number[];
  readonly count: number;
  readonly sumSeconds: number;
}
