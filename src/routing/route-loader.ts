import { register } from 'node:module';
import { pathToFileURL } from 'node:url';
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { packageEntries } from './package-paths.ts';
import type { CompiledRoute } from './route-compiler.ts';

/**
 * Loads compiled route files (route-compiler.ts) as ES modules, through a Node module hook
 * (`module.register`) that (1) resolves `junction` and `junction/patterns` in a route's files to the
 * running broker's own modules, so a route file anywhere gets the broker's classes (the same module
 * instances), and (2) serves each local file's JavaScript from memory. Every load of a route file
 * is a new generation (`?junction-route=N` on its files' URLs), so a changed file is evaluated anew;
 * everything else (the broker, packages) is shared.
 *
 * The hook runs on Node's loader thread; it gets the sources through a MessagePort and answers
 * once it has them, before the import starts.
 */
const HOOKS = `
let entries;
const sources = new Map();
export function initialize(data) {
  entries = data.entries;
  data.port.on('message', (m) => {
    if (m.sources) for (const [url, source] of m.sources) sources.set(url, source);
    // A generation's import is over: what it did not load (a file imported for its types only,
    // an import that failed first) is dropped, so redeploys do not pile up sources.
    if (m.done) for (const url of m.done) sources.delete(url);
    data.port.postMessage(m.id);
  });
  data.port.unref();
}
const PARAM = 'junction-route';
function generationOf(url) {
  if (typeof url !== 'string' || !url.startsWith('file:')) return null;
  return new URL(url).searchParams.get(PARAM);
}
// A relative import names a local file as TypeScript allows: as it is, with .js for .ts, or without extension.
function candidates(u) {
  const p = u.pathname;
  const out = [p];
  if (p.endsWith('.js')) out.push(p.slice(0, -3) + '.ts');
  else if (p.endsWith('.mjs')) out.push(p.slice(0, -4) + '.mts');
  else if (!/\\.[cm]?[jt]s$/.test(p)) out.push(p + '.ts', p + '/index.ts');
  return out;
}
export async function resolve(specifier, context, next) {
  const generation = generationOf(context.parentURL);
  if (generation === null) return next(specifier, context);
  const parent = new URL(context.parentURL);
  parent.search = '';
  // Through the rest of the chain, so a TypeScript loader (tsx in a checkout) takes the broker's .ts entry.
  if (Object.hasOwn(entries, specifier)) return next(entries[specifier], { ...context, parentURL: parent.href });
  if (specifier.startsWith('./') || specifier.startsWith('../') || specifier.startsWith('/') || specifier.startsWith('file:')) {
    const base = new URL(specifier, context.parentURL);
    for (const p of candidates(base)) {
      const u = new URL('file://');
      u.pathname = p;
      u.searchParams.set(PARAM, generation);
      if (sources.has(u.href)) return { url: u.href, format: 'module', shortCircuit: true };
    }
  }
  // Not one of the route's own files (a package, node:, the broker's sources): resolved as usual,
  // from the file's real location.
  return next(specifier, { ...context, parentURL: parent.href });
}
export async function load(url, context, next) {
  const source = sources.get(url);
  if (source === undefined) return next(url, context);
  // Evaluated once per generation; the text is not needed again.
  sources.delete(url);
  return { format: 'module', source, shortCircuit: true };
}
`;

/** The loader thread answers at once; this only bounds a wait that would otherwise hang a deploy. */
const HANDOFF_TIMEOUT = 10_000;
let port: MessagePort | undefined;
let generation = 0;
let sent = 0;
const waiting = new Map<number, () => void>();

function hookPort(): MessagePort {
  if (port) return port;
  const channel = new MessageChannel();
  register(`data:text/javascript,${encodeURIComponent(HOOKS)}`, {
    parentURL: import.meta.url,
    data: { entries: packageEntries, port: channel.port2 },
    transferList: [channel.port2],
  });
  port = channel.port1;
  port.on('message', (id: number) => {
    waiting.get(id)?.();
    waiting.delete(id);
    if (waiting.size === 0) port?.unref();
  });
  port.unref();
  return port;
}

function urlOf(file: string, gen: number): string {
  const u = pathToFileURL(file);
  u.searchParams.set('junction-route', String(gen));
  return u.href;
}

/** Imports a compiled route file as a new generation and returns its module namespace. */
export async function importRoute(compiled: CompiledRoute): Promise<Record<string, unknown>> {
  const p = hookPort();
  const gen = ++generation;
  const id = ++sent;
  let timer: NodeJS.Timeout | undefined;
  const delivered = new Promise<void>((resolve, reject) => {
    waiting.set(id, resolve);
    timer = setTimeout(() => {
      waiting.delete(id);
      reject(new Error(`the module loader did not take the route's sources within ${HANDOFF_TIMEOUT} ms`));
    }, HANDOFF_TIMEOUT);
  });
  // Held while the hook thread takes the sources (an unref'd port alone would let a CLI run exit).
  p.ref();
  const sources = [...compiled.sources].map(([file, source]) => [urlOf(file, gen), source] as const);
  p.postMessage({ id, sources });
  try {
    await delivered;
  } finally {
    clearTimeout(timer);
    if (waiting.size === 0) p.unref();
  }
  try {
    return (await import(urlOf(compiled.file, gen))) as Record<string, unknown>;
  } finally {
    // No answer awaited: the hook thread only forgets (an id no one waits for is ignored).
    p.postMessage({ id: ++sent, done: sources.map(([url]) => url) });
  }
}
