import type { StepDescriptor } from '../src/routing/types.ts';

/**
 * The step kinds a route may use, by kind: what validates a definition, derives the route JSON
 * Schema and compiles a route. `patterns/index.ts` registers the built-in patterns (the broker
 * uses that one); validateDefinition, RouteCompiler, routeJsonSchema and routeGraph also take
 * another registry, as a test of a new kind does.
 */
export class StepRegistry {
  private readonly byKind = new Map<string, StepDescriptor>();

  /** Adds step kinds; a kind registered twice is refused (the second would silently win). */
  register(...descriptors: StepDescriptor[]): this {
    for (const d of descriptors) {
      if (this.byKind.has(d.kind)) throw new Error(`step kind '${d.kind}' is already registered`);
      this.byKind.set(d.kind, d);
    }
    return this;
  }

  /** The descriptor of a kind, or undefined for a kind nobody registered. */
  get(kind: string): StepDescriptor | undefined {
    return this.byKind.get(kind);
  }

  /** The registered kinds in registration order (the order of the JSON Schema and of error messages). */
  kinds(): string[] {
    return [...this.byKind.keys()];
  }

  /** The descriptors in registration order. */
  all(): StepDescriptor[] {
    return [...this.byKind.values()];
  }
}
