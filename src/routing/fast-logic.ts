import jsonLogic from 'json-logic-js';

/** An evaluator of a json-logic rule over data. */
export type LogicFn = (data: any) => any;

/** json-logic's truthiness: an empty array is false. */
function truthy(v: unknown): boolean {
  return Array.isArray(v) ? v.length > 0 : !!v;
}

function varOf(data: any, path: unknown, notFound: unknown): unknown {
  const fallback = notFound === undefined ? null : notFound;
  if (path === undefined || path === '' || path === null) return data;
  const parts = String(path).split('.');
  let d = data;
  for (const p of parts) {
    if (d === null || d === undefined) return fallback;
    d = d[p];
    if (d === undefined) return fallback;
  }
  return d;
}

/**
 * Compiles the json-logic operators routes use most (var, comparisons, !, !!, and, or, if, the
 * arithmetic ones, cat, in) into closures, with json-logic-js's own semantics (loose `==`, its
 * truthiness, `and`/`or` returning an operand). Any other operator (including per-broker custom
 * ones) is evaluated by json-logic-js itself, for that subtree. Parsing a rule once instead of
 * interpreting it per message is what makes expressions cheap in a route.
 */
export function compileLogic(rule: unknown): LogicFn {
  if (Array.isArray(rule)) {
    const items = rule.map(compileLogic);
    return (d) => items.map((f) => f(d));
  }
  if (rule === null || typeof rule !== 'object') return () => rule;
  const keys = Object.keys(rule);
  if (keys.length !== 1) return () => rule;
  const op = keys[0]!;
  let raw = (rule as Record<string, unknown>)[op];
  if (!Array.isArray(raw)) raw = [raw];
  const args = (raw as unknown[]).map(compileLogic);
  const [a, b, c] = args;
  switch (op) {
    case 'var': {
      // A constant path is split once.
      const path = (raw as unknown[])[0];
      if (typeof path === 'string' && path !== '' && args.length === 1) {
        const parts = path.split('.');
        return (d) => {
          let v = d;
          for (const p of parts) {
            if (v === null || v === undefined) return null;
            v = v[p];
            if (v === undefined) return null;
          }
          return v;
        };
      }
      return (d) => varOf(d, a?.(d), b?.(d));
    }
    case '==':
      // eslint-disable-next-line eqeqeq
      return (d) => a!(d) == b!(d);
    case '===':
      return (d) => a!(d) === b!(d);
    case '!=':
      // eslint-disable-next-line eqeqeq
      return (d) => a!(d) != b!(d);
    case '!==':
      return (d) => a!(d) !== b!(d);
    case '>':
      return (d) => a!(d) > b!(d);
    case '>=':
      return (d) => a!(d) >= b!(d);
    case '<':
      return c ? (d) => { const y = b!(d); return a!(d) < y && y < c(d); } : (d) => a!(d) < b!(d);
    case '<=':
      return c ? (d) => { const y = b!(d); return a!(d) <= y && y <= c(d); } : (d) => a!(d) <= b!(d);
    case '!':
      return (d) => !truthy(a!(d));
    case '!!':
      return (d) => truthy(a!(d));
    case 'and':
      return (d) => {
        let cur: unknown;
        for (const f of args) {
          cur = f(d);
          if (!truthy(cur)) return cur;
        }
        return cur;
      };
    case 'or':
      return (d) => {
        let cur: unknown;
        for (const f of args) {
          cur = f(d);
          if (truthy(cur)) return cur;
        }
        return cur;
      };
    case 'if':
    case '?:':
      return (d) => {
        let i = 0;
        for (; i + 1 < args.length; i += 2) if (truthy(args[i]!(d))) return args[i + 1]!(d);
        return i < args.length ? args[i]!(d) : null;
      };
    case '+':
      return (d) => args.reduce((s, f) => s + parseFloat(f(d)), 0);
    case '*':
      return (d) => args.reduce((s, f) => s * parseFloat(f(d)), 1);
    case '-':
      return b ? (d) => a!(d) - b(d) : (d) => -a!(d);
    case '/':
      return (d) => a!(d) / b!(d);
    case '%':
      return (d) => a!(d) % b!(d);
    case 'cat':
      return (d) => args.reduce((s: string, f) => s + f(d), '');
    case 'in':
      return (d) => {
        const hay = b!(d);
        return hay !== null && hay !== undefined && typeof hay.indexOf === 'function' ? hay.indexOf(a!(d)) !== -1 : false;
      };
    default:
      return (d) => jsonLogic.apply(rule as jsonLogic.RulesLogic, d);
  }
}
