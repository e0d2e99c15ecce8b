/**
 * The step lists a step definition holds, found from its descriptor's `nested` paths
 * (`when[].steps`, `otherwise`, `[]`): for the validator (each nested step checked with its path),
 * route-wide checks and the JSON Schema.
 */

/** A `nested` path as segments: `when[].steps` -> `when`, `[]`, `steps`. */
export function segments(spec: string): string[] {
  return spec.split('.').flatMap((s) => (s.endsWith('[]') && s !== '[]' ? [s.slice(0, -2), '[]'] : [s]));
}

type Visit = (list: unknown[], path: string, holder: Record<PropertyKey, unknown>, key: PropertyKey) => void;

/**
 * Calls `visit` with each step list in `def` at the `nested` paths, in their order, with its JSON
 * path below `base` and where it sits (so the caller may replace it). Only arrays are step lists
 * (a multicast branch may be a URI); an absent optional list is skipped.
 */
export function forEachStepList(def: unknown, nested: readonly string[] | undefined, base: string, visit: Visit): void {
  for (const spec of nested ?? []) walk(def, segments(spec), base, visit);
}

function walk(node: unknown, segs: string[], path: string, visit: Visit): void {
  const [seg, ...rest] = segs;
  const at = (holder: Record<PropertyKey, unknown>, key: PropertyKey, p: string): void => {
    const v = holder[key];
    if (rest.length > 0) walk(v, rest, p, visit);
    else if (Array.isArray(v)) visit(v, p, holder, key);
  };
  if (seg === '[]') {
    if (Array.isArray(node)) for (let i = 0; i < node.length; i++) at(node as unknown as Record<PropertyKey, unknown>, i, `${path}[${i}]`);
  } else if (seg !== undefined && node !== null && typeof node === 'object') {
    at(node as Record<PropertyKey, unknown>, seg, path === '' ? seg : `${path}.${seg}`);
  }
}

/**
 * A definition path in the dotted form the management API, the graph model and the console use
 * (`steps.1.choice.when.0.steps.0`) from the bracketed form errors and logs name (`steps[1].choice.when[0].steps[0]`).
 */
export function dottedPath(path: string): string {
  return path.replace(/\[(\d+)\]/g, '.$1');
}
