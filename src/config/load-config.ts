import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { JunctionError } from '../errors.ts';
import { ConfigSchema, type JunctionConfig, type JunctionConfigInput } from './schema.ts';

/** Start-up overrides, from command-line flags (highest precedence). */
export interface ConfigOverrides {
  dataDir?: string;
  host?: string;
  routesDir?: string;
  logLevel?: string;
  logFormat?: string;
  recoverSkipCorrupt?: boolean;
  /** `security.usersFile` (`--users-file`). */
  usersFile?: string;
  /** `security.allowAnonymous` (`--allow-anonymous`). */
  allowAnonymous?: boolean;
  ports?: Partial<Record<'mqtt' | 'amqp' | 'stomp' | 'ws' | 'http', number>>;
  /** `tls.ports.https` (`--https-port`): the management HTTPS listener. */
  httpsPort?: number;
}

/** `JUNCTION_<KEY>` environment variables and where they land in the config. */
export const ENV_KEYS: Record<string, [string[], 'string' | 'port']> = {
  JUNCTION_NAME: [['name'], 'string'],
  JUNCTION_DATA_DIR: [['dataDir'], 'string'],
  JUNCTION_HOST: [['host'], 'string'],
  JUNCTION_ROUTES_DIR: [['routesDir'], 'string'],
  JUNCTION_LOG_LEVEL: [['logLevel'], 'string'],
  JUNCTION_LOG_FORMAT: [['logFormat'], 'string'],
  JUNCTION_MQTT_PORT: [['ports', 'mqtt'], 'port'],
  JUNCTION_AMQP_PORT: [['ports', 'amqp'], 'port'],
  JUNCTION_STOMP_PORT: [['ports', 'stomp'], 'port'],
  JUNCTION_WS_PORT: [['ports', 'ws'], 'port'],
  JUNCTION_HTTP_PORT: [['ports', 'http'], 'port'],
  JUNCTION_HTTPS_PORT: [['tls', 'ports', 'https'], 'port'],
  JUNCTION_USERS_FILE: [['security', 'usersFile'], 'string'],
  JUNCTION_TLS_KEY: [['tls', 'key'], 'string'],
  JUNCTION_TLS_CERT: [['tls', 'cert'], 'string'],
  JUNCTION_TLS_CA: [['tls', 'ca'], 'string'],
};

/** Validates a config object; the error names every bad field. */
export function parseConfig(input: unknown, source = 'configuration'): JunctionConfig {
  const r = ConfigSchema.safeParse(input ?? {});
  if (!r.success) throw new JunctionError('ERR_CONFIG_INVALID', `Invalid ${source}:\n${z.prettifyError(r.error)}`);
  return r.data;
}

/**
 * Builds the effective config: embedded defaults, then the config file (if any), then
 * `JUNCTION_*` environment variables, then flags.
 */
export async function loadConfig(file: string | undefined, overrides: ConfigOverrides = {}, env: NodeJS.ProcessEnv = process.env): Promise<JunctionConfig> {
  let base: Record<string, unknown> = {};
  if (file) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      throw new JunctionError('ERR_CONFIG_INVALID', `Cannot read config file ${file}: ${(err as Error).message}`, { cause: err });
    }
    try {
      base = JSON.parse(text) as Record<string, unknown>;
    } catch (err) {
      throw new JunctionError('ERR_CONFIG_INVALID', `Config file ${file} is not valid JSON: ${(err as Error).message}`, { cause: err });
    }
  }
  const merged = structuredClone(base) as Record<string, unknown>;
  for (const [name, [path, kind]] of Object.entries(ENV_KEYS)) {
    const raw = env[name];
    if (raw === undefined || raw === '') continue;
    const value = kind === 'port' ? Number(raw) : raw;
    if (kind === 'port' && !Number.isInteger(value)) throw new JunctionError('ERR_CONFIG_INVALID', `${name} must be a port number, got '${raw}'`);
    setPath(merged, path, value);
  }
  for (const [k, v] of Object.entries(overrides)) {
    if (v === undefined) continue;
    if (k === 'recoverSkipCorrupt') setPath(merged, ['store', 'recoverSkipCorrupt'], v);
    else if (k === 'usersFile' || k === 'allowAnonymous') setPath(merged, ['security', k], v);
    else if (k === 'httpsPort') setPath(merged, ['tls', 'ports', 'https'], v);
    else if (k === 'ports') for (const [p, n] of Object.entries(v as Record<string, number | undefined>)) {
      if (n !== undefined) setPath(merged, ['ports', p], n);
    }
    else setPath(merged, [k], v);
  }
  return parseConfig(merged as JunctionConfigInput, file ? `config (${file})` : 'configuration');
}

function setPath(obj: Record<string, unknown>, path: string[], value: unknown): void {
  let o = obj;
  for (const k of path.slice(0, -1)) {
    if (typeof o[k] !== 'object' || o[k] === null) o[k] = {};
    o = o[k] as Record<string, unknown>;
  }
  o[path[path.length - 1]!] = value;
}
