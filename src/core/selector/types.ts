/** Values a selector identifier can resolve to. `null`/`undefined` = unknown (SQL NULL). */
export type SelectorValue = string | number | boolean | null | undefined;

/** Resolves an identifier (a property name or a JMS header such as `JMSPriority`) for one message. */
export type SelectorResolver = (identifier: string) => SelectorValue;

/** A compiled JMS 1.1 SQL-92 message selector. Compile once, evaluate per message. */
export interface Selector {
  /** The selector text as given. */
  readonly text: string;
  /** True only when the expression evaluates to TRUE (FALSE and UNKNOWN both reject). */
  matches(resolve: SelectorResolver): boolean;
}

/** Limits on a selector, from the config's `selectors` section (see the schema for the why of each default). */
export interface SelectorLimits {
  /** Maximum selector length in characters (default 4096). */
  maxLength?: number;
  /** Maximum nesting depth of the expression tree (default 64). */
  maxDepth?: number;
  /** Total length of the stretches of all LIKE patterns between two `%` that hold `_`, in characters (default 256). */
  maxLikeSegment?: number;
  /** Most LIKE predicates in one selector (default 16). */
  maxLikes?: number;
  /**
   * Characters (UTF-16 units) all LIKEs of one selector may read per message (default 65,536): each of
   * k LIKEs is UNKNOWN against a string longer than ⌊maxLikeValueLength / k⌋.
   */
  maxLikeValueLength?: number;
}
