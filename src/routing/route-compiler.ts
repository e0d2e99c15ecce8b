import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { JunctionError } from '../errors.ts';
import { built, contentStamp } from './package-paths.ts';
import type { TypeCheckResult } from './route-typecheck.ts';

/**
 * Type-checks and transpiles `.route.ts` files before they load, so a type error is reported at
 * validate and deploy time with its file and line (not found at run time). The TypeScript compiler
 * runs on a worker thread (route-typecheck.ts): a first check takes seconds, during which the
 * broker keeps serving. A file is checked once per change of it or of a local file it imports.
 */

/** A route file and the local files it imports, ready to load: file path -> JavaScript (ESM). */
export interface CompiledRoute {
  file: string;
  sources: Map<string, string>;
}

/** At most this many type errors are reported per file (the first ones; a count says how many more). */
const MAX_REPORTED = 10;
/** One check (a first one loads the compiler and the broker's types: seconds on a slow machine). */
const CHECK_TIMEOUT = 120_000;
/** The worker (and the compiler's memory) goes after this long without a check. */
const IDLE_TIMEOUT = 60_000;

/** Last check per route file: reused while every file it covered has the same content. */
const checks = new Map<string, TypeCheckResult>();

let worker: Worker | undefined;
let idleTimer: NodeJS.Timeout | undefined;
let nextId = 0;
const pending = new Map<number, { resolve(r: TypeCheckResult): void; reject(e: Error): void }>();

function failAll(err: Error): void {
  for (const p of pending.values()) p.reject(err);
  pending.clear();
}

function checker(): Worker {
  if (worker) return worker;
  const file = new URL(`./route-typecheck-worker${built ? '.js' : '.ts'}`, import.meta.url);
  // In a checkout the worker runs TypeScript sources too: through tsx, registered first in that
  // thread as bin/junction.js does (an --import in the worker's execArgv is not applied on Node 20).
  const w = built
    ? new Worker(file)
    : new Worker(
        // The compiler itself is plain JavaScript: loaded first, without tsx's hooks (several times faster).
        `require(${JSON.stringify(createRequire(import.meta.url).resolve('typescript'))});
        import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((tsx) => { tsx.register(); return import(${JSON.stringify(file.href)}); });`,
        { eval: true },
      );
  w.on('message', (m: { id: number; result?: TypeCheckResult; error?: string }) => {
    const p = pending.get(m.id);
    pending.delete(m.id);
    if (m.result) p?.resolve(m.result);
    else p?.reject(new Error(m.error ?? 'route type check failed'));
    if (pending.size === 0) idle(w);
  });
  w.on('error', (err) => failAll(err));
  w.on('exit', (code) => {
    if (worker === w) worker = undefined;
    failAll(new Error(`the route type checker exited (code ${code})`));
  });
  w.unref();
  worker = w;
  return w;
}

function idle(w: Worker): void {
  clearTimeout(idleTimer);
  idleTimer = setTimeout(() => {
    if (pending.size === 0 && worker === w) {
      worker = undefined;
      void w.terminate();
    }
  }, IDLE_TIMEOUT);
  idleTimer.unref();
}

function typeCheck(file: string): Promise<TypeCheckResult> {
  const w = checker();
  clearTimeout(idleTimer);
  const id = ++nextId;
  return new Promise<TypeCheckResult>((resolve, reject) => {
    const timer = setTimeout(() => {
      pending.delete(id);
      reject(new Error(`type check did not finish within ${CHECK_TIMEOUT} ms`));
      // A stuck compiler is not asked again: the next check starts a new worker.
      if (worker === w) worker = undefined;
      void w.terminate();
    }, CHECK_TIMEOUT);
    // Held while a check runs (an unref'd worker alone would let `junction route validate` exit).
    w.ref();
    pending.set(id, {
      resolve: (r) => {
        clearTimeout(timer);
        if (pending.size === 0) w.unref();
        resolve(r);
      },
      reject: (e) => {
        clearTimeout(timer);
        if (pending.size === 0) w.unref();
        reject(e);
      },
    });
    w.postMessage({ id, file });
  });
}

async function upToDate(check: TypeCheckResult): Promise<boolean> {
  for (const [file, stamp] of check.stamps) {
    const text = await readFile(file, 'utf8').catch(() => undefined);
    if (text === undefined || contentStamp(text) !== stamp) return false;
  }
  return check.stamps.length > 0;
}

/**
 * Type-checks a `.route.ts` file and transpiles it and its local imports. A type error is an
 * ERR_ROUTE_INVALID naming `file:line:column` of each error.
 */
export async function compileRouteFile(file: string): Promise<CompiledRoute> {
  const abs = path.resolve(file);
  let check = checks.get(abs);
  if (!check || !(await upToDate(check))) {
    try {
      check = await typeCheck(abs);
    } catch (err) {
      throw new JunctionError('ERR_ROUTE_INVALID', `${file}: ${(err as Error).message}`, { cause: err });
    }
    checks.set(abs, check);
  }
  if (check.errors.length > 0) {
    const more = check.errors.length > MAX_REPORTED ? `\n(${check.errors.length - MAX_REPORTED} more)` : '';
    throw new JunctionError('ERR_ROUTE_INVALID', `${file}: type errors:\n${check.errors.slice(0, MAX_REPORTED).join('\n')}${more}`);
  }
  return { file: abs, sources: new Map(check.sources) };
}

/** Drops the type-check kept for a file that is gone (a route source loaded from a temporary file). */
export function forgetRouteFile(file: string): void {
  checks.delete(path.resolve(file));
}
