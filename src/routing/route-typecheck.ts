import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { contentStamp, isRouteLocal, packageRoot, typeEntries } from './package-paths.ts';

/**
 * The TypeScript compiler's part of loading a `.route.ts` file: type-check it and the local files
 * it imports (with 'junction' typed as the running broker's package), and transpile them to ES
 * modules. Runs on a worker thread (route-typecheck-worker.ts): a first check takes seconds, which
 * the broker's event loop must not wait for.
 */

/** The outcome for one route file; `stamps` and `sources` cover the route file and its local imports. */
export interface TypeCheckResult {
  /** File -> content hash (sha1, base64) of the text that was checked. */
  stamps: Array<[string, string]>;
  /** Type errors as `file:line:column: message (TSnnnn)`; empty if none. */
  errors: string[];
  /** File -> JavaScript (ESM); empty when there are errors. */
  sources: Array<[string, string]>;
}

/** node_modules/@types folders above the package (in a checkout: its own; installed: the application's). */
function typeRoots(): string[] {
  const roots: string[] = [];
  for (let dir = packageRoot; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'node_modules', '@types');
    if (existsSync(candidate)) roots.push(candidate);
    if (path.dirname(dir) === dir) return roots;
  }
}

const roots = typeRoots();
const options: ts.CompilerOptions = {
  target: ts.ScriptTarget.ES2022,
  // A route runs in Node, not a browser: the ES2022 library without the DOM's declarations (which
  // would type `fetch`, `window` and the like as there, and cost a third of a first check's time).
  lib: ['lib.es2022.d.ts'],
  // Route files load as ES modules wherever they are (route-loader.ts), so they are checked as such.
  module: ts.ModuleKind.ESNext,
  moduleResolution: ts.ModuleResolutionKind.Bundler,
  strict: true,
  noEmit: true,
  allowImportingTsExtensions: true,
  esModuleInterop: true,
  resolveJsonModule: true,
  skipLibCheck: true,
  paths: { ...typeEntries },
  typeRoots: roots,
  types: roots.some((r) => existsSync(path.join(r, 'node'))) ? ['node'] : [],
};

/** Library and broker declarations, parsed once for every check (they do not change while the broker runs). */
const shared = new Map<string, ts.SourceFile>();

function format(d: ts.Diagnostic): string {
  const text = ts.flattenDiagnosticMessageText(d.messageText, '\n  ');
  if (!d.file || d.start === undefined) return `${text} (TS${d.code})`;
  const { line, character } = d.file.getLineAndCharacterOfPosition(d.start);
  return `${d.file.fileName}:${line + 1}:${character + 1}: ${text} (TS${d.code})`;
}

/** Type-checks one route file and, if it has no errors, transpiles it and its local imports. */
export function typeCheckRoute(file: string): TypeCheckResult {
  const host = ts.createCompilerHost(options, true);
  const read = host.getSourceFile.bind(host);
  const texts = new Map<string, string>();
  host.getSourceFile = (name, languageVersion, onError, shouldCreate) => {
    if (isRouteLocal(name)) {
      const sf = read(name, languageVersion, onError, shouldCreate);
      if (sf) texts.set(path.resolve(name), readFileSync(name, 'utf8'));
      return sf;
    }
    let sf = shared.get(name);
    if (!sf) {
      sf = read(name, languageVersion, onError, shouldCreate);
      if (sf) shared.set(name, sf);
    }
    return sf;
  };
  const program = ts.createProgram({ rootNames: [file], options, host });
  const diagnostics: ts.Diagnostic[] = [...program.getOptionsDiagnostics(), ...program.getGlobalDiagnostics()];
  for (const sf of program.getSourceFiles()) {
    if (isRouteLocal(sf.fileName)) diagnostics.push(...program.getSyntacticDiagnostics(sf), ...program.getSemanticDiagnostics(sf));
  }
  const errors = diagnostics.filter((d) => d.category === ts.DiagnosticCategory.Error).map(format);
  const stamps: Array<[string, string]> = [...texts].map(([f, text]) => [f, contentStamp(text)]);
  if (errors.length > 0 || texts.size === 0) return { stamps, errors: errors.length > 0 ? errors : [`${file}: cannot be read`], sources: [] };
  // One file at a time, as tsx or esbuild would; imports used only as types are dropped.
  const sources: Array<[string, string]> = [...texts].map(([f, text]) => [
    f,
    ts.transpileModule(text, { fileName: f, compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext, inlineSourceMap: true } }).outputText,
  ]);
  return { stamps, errors, sources };
}
