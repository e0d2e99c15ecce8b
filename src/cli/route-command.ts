import { parseArgs } from 'node:util';
import { loadRouteFile } from '../routing/route-file.ts';
import { routeJsonSchema } from '../routing/route-schema.ts';
import { routeGraph } from '../routing/route-graph.ts';
import { checkRouteFile, loadCases, runRouteTests } from './route-test.ts';

export const ROUTE_USAGE = `Usage: junction route test ROUTE_FILE --cases CASES.json
       junction route validate ROUTE_FILE...
       junction route graph ROUTE_FILE
       junction route schema

  test      Runs the route(s) of ROUTE_FILE (*.route.json or *.route.ts) on an in-process broker,
            once per case: sends the case's input messages (to the case's "address", else the
            route's from; a wildcard from gets a matching name), then checks the messages at each
            expected address. Prints PASS/FAIL per case; exits 1 if any case fails.
  validate  Checks route files as a deploy would (TypeScript types, schema, steps, expressions,
            endpoints, JSON Schemas) without running them; prints OK or the error with its path
            (file:line:column for a type error); exits 1 on errors.
  graph     Prints each route of ROUTE_FILE as a Mermaid flowchart.
  schema    Prints the JSON Schema of *.route.json files (for editors).
  See docs/routes.md.`;

/** `junction route test ROUTE --cases FILE`; writes to stdout, returns the exit code. */
export async function routeCommand(argv: string[], out: (line: string) => void = (l) => process.stdout.write(`${l}\n`)): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === 'validate') return validateCommand(rest, out);
  if (sub === 'schema') {
    out(JSON.stringify(routeJsonSchema(), null, 2));
    return 0;
  }
  if (sub === 'graph') {
    if (rest[0] === undefined) {
      out(ROUTE_USAGE);
      return 2;
    }
    for (const def of await loadRouteFile(rest[0])) out(`%% route ${def.id}\n${routeGraph(def)}`);
    return 0;
  }
  if (sub !== 'test') {
    out(ROUTE_USAGE);
    return sub === undefined || sub === 'help' || sub === '--help' ? 0 : 2;
  }
  const { values, positionals } = parseArgs({ args: rest, strict: true, allowPositionals: true, options: { cases: { type: 'string' } } });
  const routeFile = positionals[0];
  if (routeFile === undefined || values.cases === undefined) {
    out(ROUTE_USAGE);
    return 2;
  }
  const cases = await loadCases(values.cases);
  const results = await runRouteTests(routeFile, cases, (r) => {
    out(`${r.passed ? 'PASS' : 'FAIL'}  ${r.name}`);
    for (const p of r.problems) out(`      ${p}`);
  });
  const failed = results.filter((r) => !r.passed).length;
  out(`${results.length - failed} passed, ${failed} failed`);
  return failed > 0 ? 1 : 0;
}

async function validateCommand(files: string[], out: (line: string) => void): Promise<number> {
  if (files.length === 0) {
    out(ROUTE_USAGE);
    return 2;
  }
  let bad = 0;
  for (const f of files) {
    try {
      const ids = await checkRouteFile(f);
      out(`OK    ${f} (${ids.join(', ')})`);
    } catch (err) {
      bad++;
      out(`ERROR ${(err as Error).message}`);
    }
  }
  return bad > 0 ? 1 : 0;
}
