import { readFileSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { ApiClient } from './api-client.ts';
import { CliError, EXIT } from './cli-error.ts';
import { ask } from './prompt.ts';

/** Default management URL: the broker's HTTP port on this machine (ActiveMQ's 8161). */
export const DEFAULT_URL = 'http://localhost:8161';

/** The options every management and client command takes (`--url`, `--user`, ...). */
export interface ConnectionOpts {
  url: string;
  user?: string;
  token?: string;
  json?: boolean;
  insecure?: boolean;
  ca?: string;
  timeout: number;
}

/** Parses a positive number option (`--timeout 2.5`). */
export function positiveNumber(name: string): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n) || n <= 0) throw new CliError(EXIT.usage, `${name} must be a positive number, got '${v}'`);
    return n;
  };
}

/** Parses a number option that may be 0 (`--warmup 0`). */
export function nonNegativeNumber(name: string): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n) || n < 0) throw new CliError(EXIT.usage, `${name} must be a number >= 0, got '${v}'`);
    return n;
  };
}

/** Parses a whole-number option at least `min` (`--message-count 1000`). */
export function integer(name: string, min = 0): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isSafeInteger(n) || n < min) throw new CliError(EXIT.usage, `${name} must be a whole number >= ${min}, got '${v}'`);
    return n;
  };
}

/** Adds `--url`, `--user`, `--token`, `--json`, `--insecure`, `--ca`, `--timeout` to a command. */
export function withConnectionOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--url <url>', 'management URL').env('JUNCTION_URL').default(DEFAULT_URL))
    .addOption(new Option('--user <user>', 'user to log in as (password from JUNCTION_PASSWORD, else asked when the server answers 401)').env('JUNCTION_USER'))
    .addOption(new Option('--token <token>', 'bearer token (POST /api/v1/auth/tokens) instead of a user').env('JUNCTION_TOKEN'))
    .option('--json', 'machine-readable JSON output')
    .option('--insecure', 'HTTPS: accept any server certificate')
    .option('--ca <file>', 'HTTPS: PEM file of the CA that signed the server certificate')
    .addOption(new Option('--timeout <seconds>', 'deadline of each HTTP request').default(10).argParser(positiveNumber('--timeout')));
}

/** The API client for a command's options; the password comes from JUNCTION_PASSWORD or a prompt on 401. */
export function apiClient(o: ConnectionOpts): ApiClient {
  let ca: Buffer | undefined;
  if (o.ca !== undefined) {
    try {
      ca = readFileSync(o.ca);
    } catch (err) {
      throw new CliError(EXIT.usage, `--ca ${o.ca}: ${(err as Error).message}`);
    }
  }
  // An empty variable (JUNCTION_TOKEN=) counts as unset.
  const password = process.env.JUNCTION_PASSWORD || undefined;
  const user = o.user || undefined;
  const token = o.token || undefined;
  return new ApiClient({
    url: o.url || DEFAULT_URL,
    ...(user === undefined ? {} : { user }),
    ...(user !== undefined && password !== undefined ? { password } : {}),
    ...(token === undefined ? {} : { token }),
    insecure: o.insecure === true,
    ...(ca === undefined ? {} : { ca }),
    timeoutMs: Math.round(o.timeout * 1000),
    askCredentials: async (user) => {
      // No terminal (a script, a pipe): the 401 is the answer, with how to log in.
      if (!process.stdin.isTTY || !process.stderr.isTTY) return undefined;
      const how = 'pass --user with JUNCTION_PASSWORD, or --token';
      const u = user ?? (await ask('User: ', false, how));
      return { user: u, password: password ?? (await ask(`Password for ${u}: `, true, how)) };
    },
  });
}

/** Prints a value as one JSON document on stdout. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/**
 * Runs a command's work with its API client and turns the result into the process exit code; the
 * client's sockets are released whatever happens.
 */
export async function withClient(o: ConnectionOpts, work: (api: ApiClient) => Promise<number | void>): Promise<void> {
  const api = apiClient(o);
  try {
    process.exitCode = (await work(api)) ?? EXIT.ok;
  } finally {
    api.close();
  }
}

/** `name` as a path segment (a queue name may hold `/`, `#`, `?`). */
export function seg(name: string): string {
  return encodeURIComponent(name);
}
