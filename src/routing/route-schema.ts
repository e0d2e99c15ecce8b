import { z } from 'zod';
import { stepRegistry, type StepRegistry } from '../../patterns/index.ts';
import { routeSchema } from './definition.ts';
import { segments } from './step-lists.ts';

type JsonSchema = Record<string, any>;

/** Points the step lists of a step's JSON Schema (at its descriptor's `nested` paths) at `ref`. */
function refSteps(node: JsonSchema | undefined, segs: string[], ref: JsonSchema, parent: JsonSchema, key: string): void {
  if (node === undefined) return;
  const [seg, ...rest] = segs;
  if (seg === undefined) {
    // A list that may also be something else (a multicast branch: a URI or steps) keeps the other forms.
    if (Array.isArray(node.anyOf)) node.anyOf = node.anyOf.map((alt: JsonSchema) => (alt.type === 'array' ? ref : alt));
    else parent[key] = ref;
    return;
  }
  if (seg === '[]') refSteps(node.items, rest, ref, node, 'items');
  else refSteps(node.properties?.[seg], rest, ref, node.properties, seg);
}

/**
 * The JSON Schema of `*.route.json` files (draft 2020-12), for editors: `"$schema":
 * "./route.schema.json"` in a route file. One alternative per registered step kind (TypeScript-only
 * kinds left out). Expressions are free-form (json-logic); the deploy-time validation remains the
 * reference (it also checks expressions and endpoints).
 */
export function routeJsonSchema(registry: StepRegistry = stepRegistry): Record<string, unknown> {
  const ref = { $ref: '#/$defs/steps' };
  const stepDefs: Record<string, unknown>[] = [];
  for (const d of registry.all()) {
    if (d.typescriptOnly) continue;
    const params = z.toJSONSchema(d.schema, { unrepresentable: 'any' }) as JsonSchema;
    delete params.$schema;
    const holder = { params };
    for (const spec of d.nested ?? []) refSteps(holder.params, segments(spec), ref, holder, 'params');
    stepDefs.push({ type: 'object', properties: { [d.kind]: holder.params }, required: [d.kind], additionalProperties: false });
  }
  const route = z.toJSONSchema(routeSchema, { unrepresentable: 'any', io: 'input' }) as JsonSchema;
  route.properties.steps = ref;
  return {
    ...route,
    title: 'Junction route',
    $defs: { steps: { type: 'array', items: { $ref: '#/$defs/step' } }, step: { oneOf: stepDefs } },
  };
}
