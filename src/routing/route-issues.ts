import { RouteDefinitionError } from './definition.ts';
import { dottedPath } from './step-lists.ts';

/** One problem of a route definition, placed where the console's editor shows it. */
export interface RouteIssue {
  /**
   * The dotted JSON path of the bad part (`steps.2.choice.when.0.if`, the graph model's node ids
   * are its prefixes); `source:<line>:<col>` for a TypeScript source's type error; `` for the
   * definition as a whole.
   */
  path: string;
  message: string;
}

/** The route fields a message may start with (`steps[1].filter: operator 'x' is not allowed`). */
const LEADING_PATH = /^((?:steps|from|errorHandler|id|runAs|maxInflight|drainTimeout|sendTimeout|autoStart|trace|description)(?:[.[][^\s:]*)?): ([\s\S]*)$/;
/** A type error of a route source (route-typecheck.ts formats them `file:line:column: message (TSnnnn)`). */
const TYPE_ERROR = /^(.*):(\d+):(\d+): ([\s\S]*)$/;

/** The issues an error of validating, compiling or loading a route stands for. */
export function routeIssues(err: unknown, sourceFile?: string): RouteIssue[] {
  const def = findDefinitionError(err);
  if (def) {
    const message = def.path !== '' && def.message.startsWith(`${def.path}: `) ? def.message.slice(def.path.length + 2) : def.message;
    if (def.path !== '') return [{ path: dottedPath(def.path), message }];
    const m = LEADING_PATH.exec(message);
    return [m ? { path: dottedPath(m[1]!), message: m[2]! } : { path: '', message }];
  }
  const text = err instanceof Error ? err.message : String(err);
  if (sourceFile !== undefined) {
    const issues: RouteIssue[] = [];
    for (const line of text.split('\n')) {
      const m = TYPE_ERROR.exec(line);
      if (m && m[1] === sourceFile) issues.push({ path: `source:${m[2]}:${m[3]}`, message: m[4]! });
    }
    if (issues.length > 0) return issues;
    // Any other failure names the temporary file: the caller never saw it.
    return [{ path: 'source', message: text.split(`${sourceFile}: `).join('').split(sourceFile).join('source') }];
  }
  return [{ path: '', message: text }];
}

function findDefinitionError(err: unknown): RouteDefinitionError | undefined {
  for (let e = err, depth = 0; e instanceof Error && depth < 5; e = (e as Error).cause, depth++) {
    if (e instanceof RouteDefinitionError) return e;
  }
  return undefined;
}
