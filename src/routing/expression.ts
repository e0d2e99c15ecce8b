import jsonLogic from 'json-logic-js';
import { JunctionError } from '../errors.ts';
import { compileLogic } from './fast-logic.ts';
import type { Evaluate, Exchange } from './types.ts';

/**
 * json-logic expressions over `{body, headers, properties, destination, message}`, with an
 * allow-list of operators and custom operations per broker.
 *
 * json-logic-js keeps its operations in one module-wide table (`add_operation` is global). To keep
 * one broker's (or test's) operations from leaking to another, a custom operation is registered
 * under a name unique to its `Expressions` instance, and each rule is rewritten at compile time to
 * that name: another instance never rewrites to it, and the allow-list rejects the bare name.
 */

/** json-logic's own operators that routes may use (`log`, which writes to the console, is left out). */
export const ALLOWED_OPERATORS: ReadonlySet<string> = new Set([
  'var', 'missing', 'missing_some', 'if', '?:', '==', '===', '!=', '!==', '!', '!!', 'or', 'and',
  '>', '>=', '<', '<=', 'max', 'min', '+', '-', '*', '/', '%', 'map', 'filter', 'reduce', 'all', 'none',
  'some', 'merge', 'in', 'cat', 'substr',
]);

/** Operators Junction adds to every instance (registered per instance like custom ones). */
const BUILTINS: Record<string, (...args: any[]) => unknown> = {
  /** `{"object": ["k1", v1, "k2", v2]}`: builds an object. */
  object: (...kv: unknown[]) => {
    const o: Record<string, unknown> = {};
    for (let i = 0; i + 1 < kv.length; i += 2) o[String(kv[i])] = kv[i + 1];
    return o;
  },
  /** `{"lower": s}`, `{"upper": s}` */
  lower: (s: unknown) => String(s ?? '').toLowerCase(),
  upper: (s: unknown) => String(s ?? '').toUpperCase(),
  /** `{"split": [s, sep]}`: a string split into an array. */
  split: (s: unknown, sep: unknown) => String(s ?? '').split(String(sep ?? ',')),
  /** `{"now": []}`: epoch ms. */
  now: () => Date.now(),
  /** `{"length": x}`: length of an array or string. */
  length: (x: unknown) => (Array.isArray(x) || typeof x === 'string' ? x.length : 0),
  /** `{"keys": o}` */
  keys: (o: unknown) => (o !== null && typeof o === 'object' ? Object.keys(o) : []),
  /** `{"number": x}` */
  number: (x: unknown) => Number(x),
  /** `{"string": x}`: JSON text of objects, String() otherwise. */
  string: (x: unknown) => (x !== null && typeof x === 'object' ? JSON.stringify(x) : String(x)),
};

let instanceSeq = 0;

/** The data an expression sees: `body` is parsed on first use only, `message` built on use. */
class ExpressionData {
  private readonly ex: Exchange;
  __literals: unknown[] | undefined;

  constructor(ex: Exchange) {
    this.ex = ex;
  }

  get body(): unknown {
    return this.ex.body();
  }

  get headers(): object {
    return this.ex.message.headers;
  }

  get properties(): object {
    return this.ex.properties;
  }

  get destination(): string | null {
    return this.ex.message.destination ?? null;
  }

  get message(): object {
    const m = this.ex.message;
    return {
      id: m.messageId ?? null,
      correlationId: m.correlationId ?? null,
      type: m.type ?? null,
      priority: m.priority ?? null,
      contentType: m.contentType ?? null,
      groupId: m.groupId ?? null,
      timestamp: m.timestamp ?? null,
      deliveryCount: this.ex.deliveryCount,
    };
  }
}

function dataOf(ex: Exchange): ExpressionData {
  // RouteExchange declares `view`, so caching the view does not change the exchange's shape.
  const holder = ex as Exchange & { view?: unknown };
  return ((holder.view as ExpressionData | undefined) ??= new ExpressionData(ex));
}

/** The data an expression sees. `body` is parsed on first use only. */
export function expressionData(ex: Exchange): object {
  return dataOf(ex);
}

/** One broker's expression compiler: its custom operations live and die with it. */
export class Expressions {
  private readonly prefix: string;
  private readonly custom = new Map<string, string>();

  constructor() {
    this.prefix = `__junction${++instanceSeq}_`;
    for (const [name, fn] of Object.entries(BUILTINS)) this.addOperation(name, fn);
  }

  /** Registers a custom operation for this instance only (e.g. `broker.routes.expressions.addOperation('celsius', f => ...)`). */
  addOperation(name: string, fn: (...args: any[]) => unknown): void {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new JunctionError('ERR_ROUTE_INVALID', `Operation name '${name}' must be an identifier`);
    if (ALLOWED_OPERATORS.has(name)) throw new JunctionError('ERR_ROUTE_INVALID', `Operation '${name}' is a json-logic built-in`);
    const global = this.prefix + name;
    jsonLogic.add_operation(global, fn);
    this.custom.set(name, global);
  }

  /** Removes every operation this instance registered from json-logic's global table. */
  dispose(): void {
    for (const g of this.custom.values()) jsonLogic.rm_operation(g);
    this.custom.clear();
  }

  /**
   * Checks a rule against the allow-list and rewrites custom operations; throws a message with
   * the JSON path of the bad operator. `{"literal": x}` yields x unevaluated (an object body).
   */
  compile<T = unknown>(rule: unknown, path = ''): Evaluate<T> {
    const literals: unknown[] = [];
    const rewritten = this.rewrite(rule, path, literals);
    if (typeof rewritten !== 'object' || rewritten === null) return () => rewritten as T;
    const fn = compileLogic(rewritten);
    if (literals.length > 0) {
      return (ex) => {
        const data = new ExpressionData(ex);
        data.__literals = literals;
        return fn(data) as T;
      };
    }
    // The data view reads through the exchange, so one per exchange serves every expression.
    return (ex) => fn(dataOf(ex)) as T;
  }

  /** A predicate: json-logic truthiness. */
  predicate(rule: unknown, path = ''): Evaluate<boolean> {
    const f = this.compile(rule, path);
    return (ex) => jsonLogic.truthy(f(ex));
  }

  private rewrite(rule: unknown, path: string, literals: unknown[]): unknown {
    if (Array.isArray(rule)) return rule.map((r, i) => this.rewrite(r, `${path}[${i}]`, literals));
    if (rule === null || typeof rule !== 'object') return rule;
    const keys = Object.keys(rule);
    if (keys.length !== 1) throw new JunctionError('ERR_ROUTE_INVALID', `${path || 'expression'}: a json-logic operation is an object with exactly one key (got ${keys.length}); use {"literal": ...} for an object value`);
    const op = keys[0]!;
    const args = (rule as Record<string, unknown>)[op];
    if (op === 'literal') {
      literals.push(args);
      return { var: `__literals.${literals.length - 1}` };
    }
    const custom = this.custom.get(op);
    if (!custom && !ALLOWED_OPERATORS.has(op)) throw new JunctionError('ERR_ROUTE_INVALID', `${path || 'expression'}: operator '${op}' is not allowed`);
    return { [custom ?? op]: this.rewrite(args, `${path}.${op}`, literals) };
  }
}

function lookup(data: unknown, path: string): unknown {
  let v: any = data;
  for (const k of path.split('.')) {
    if (v === null || v === undefined) return undefined;
    v = v[k];
  }
  return v;
}

/** `${body.id}`-style templates of the log step. */
export function template(text: string): Evaluate<string> {
  if (!text.includes('${')) return () => text;
  return (ex) => {
    const data = expressionData(ex);
    return text.replace(/\$\{([^}]+)\}/g, (_, p: string) => {
      const key = p.trim();
      const v = key === 'id' ? ex.id : lookup(data, key);
      return v === undefined ? '' : typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v);
    });
  };
}
