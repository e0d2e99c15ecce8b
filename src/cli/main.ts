import { parseArgs } from 'node:util';
import { createBroker, VERSION } from '../broker.ts';
import { loadConfig, type ConfigOverrides } from '../config/load-config.ts';
import { isJunctionError, JunctionError } from '../errors.ts';
import { runProgram } from './program.ts';

const USAGE = `Usage: junction <command> [options]

Commands:
  start             Run the broker in this process (SIGTERM/SIGINT stop it gracefully, SIGHUP
                    reloads the users file)
  user add|passwd|remove|list --file USERS_FILE
                    Edit the users file (see junction user help, docs/security.md)
  version           Print the version
  route test ROUTE --cases CASES.json
                    Test a route file against an in-process broker (pass/fail per case)
  route validate FILE...
                    Check route files as a deploy would, without running them
  route graph FILE  Print the routes of a file as Mermaid flowcharts

Commands on a running broker (management API at --url, default http://localhost:8161; AMQP 1.0):
  queue stat [--filter TEXT] [--sort FIELD] [--watch [SECONDS]]
                    One line per queue: messages, consumers, enqueued, acked, in delivery, DLQ
  queue create|delete|purge|pause|resume QUEUE
  queue move|copy|retry|remove QUEUE [--to QUEUE] [--selector S] [--ids ID...]
                    Runs a job over the queue's messages and follows it to its end
  browse QUEUE [--selector S] [--limit N]
                    List a queue's messages without consuming them
  route list | deploy FILE | undeploy ID | suspend ID | resume ID | restart ID | graph ID
                    The deployed routes (graph: Mermaid text, --json: the model with counters)
  connection list | close ID
                    Client connections of every protocol
  producer --destination queue://NAME|topic://NAME [--message-count N] [--message-size B] [--rate N]
                    Send messages (AMQP 1.0), as artemis producer
  consumer --destination queue://NAME|topic://NAME [--message-count N]
                    Receive messages (AMQP 1.0), as artemis consumer
  perf [--destination D] [--duration S] [--warmup S] [--rate N] [--message-size B]
                    Throughput and end-to-end latency percentiles (HDR), as artemis perf client
  junction COMMAND --help shows a command's options. Common ones: --url URL (JUNCTION_URL),
  --user USER (JUNCTION_USER; password from JUNCTION_PASSWORD or asked on 401), --token TOKEN,
  --json, --insecure, --ca FILE, --timeout SECONDS. Exit codes: 0 ok, 1 failed, 2 usage error,
  3 login refused or not allowed, 4 not found, 5 cannot connect (docs/management.md).

Options for start:
  --config FILE       Config file (JSON, validated; see docs/configuration.md)
  --data-dir DIR      Data directory (default ./data)
  --host HOST         Address to listen on (default 127.0.0.1)
  --stomp-port N      STOMP over TCP (default 61613; 0 = any free port)
  --ws-port N         WebSocket: STOMP, MQTT and AMQP by subprotocol (default 61614)
  --mqtt-port N       MQTT 3.1.1 over TCP (default 1883)
  --amqp-port N       AMQP 1.0 (default 5672; 0 = any free port); AMQP over WebSocket on --ws-port
  --http-port N       Web console, REST API and /metrics over HTTP (default 8161; docs/management.md)
  --https-port N      The same over HTTPS, with tls.cert and tls.key set (default 8162)
  --routes-dir DIR    Route files to deploy and watch (default ./routes)
  --log-level LEVEL   fatal|error|warn|info|debug|trace|silent (default info)
  --log-format FORMAT json (one JSON object per line, the default) or pretty (readable lines)
  --recover-skip-corrupt  Skip corrupt journal records in the middle of a segment instead of
                      refusing to start (their operations are lost; logged)
  --users-file FILE   Turn security on with this users file (docs/security.md)
  --allow-anonymous   Accept anonymous clients with security off on a non-loopback --host
                      (without it, or --users-file, such a start is refused)
Environment: JUNCTION_<KEY> overrides the config file, e.g. JUNCTION_STOMP_PORT=0.`;

function port(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v === '' || !Number.isInteger(n) || n < 0 || n > 65535) throw new JunctionError('ERR_CONFIG_INVALID', `--${name} must be a port number (0-65535), got '${v}'`);
  return n;
}

async function start(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      config: { type: 'string' },
      'data-dir': { type: 'string' },
      host: { type: 'string' },
      'stomp-port': { type: 'string' },
      'ws-port': { type: 'string' },
      'mqtt-port': { type: 'string' },
      'amqp-port': { type: 'string' },
      'http-port': { type: 'string' },
      'https-port': { type: 'string' },
      'routes-dir': { type: 'string' },
      'log-level': { type: 'string' },
      'log-format': { type: 'string' },
      'recover-skip-corrupt': { type: 'boolean' },
      'users-file': { type: 'string' },
      'allow-anonymous': { type: 'boolean' },
    },
  });
  const overrides: ConfigOverrides = {
    ports: {
      stomp: port('stomp-port', values['stomp-port']),
      ws: port('ws-port', values['ws-port']),
      mqtt: port('mqtt-port', values['mqtt-port']),
      amqp: port('amqp-port', values['amqp-port']),
      http: port('http-port', values['http-port']),
    },
    httpsPort: port('https-port', values['https-port']),
  };
  if (values['data-dir'] !== undefined) overrides.dataDir = values['data-dir'];
  if (values.host !== undefined) overrides.host = values.host;
  if (values['routes-dir'] !== undefined) overrides.routesDir = values['routes-dir'];
  if (values['log-level'] !== undefined) overrides.logLevel = values['log-level'];
  if (values['log-format'] !== undefined) overrides.logFormat = values['log-format'];
  if (values['recover-skip-corrupt']) overrides.recoverSkipCorrupt = true;
  if (values['users-file'] !== undefined) overrides.usersFile = values['users-file'];
  if (values['allow-anonymous']) overrides.allowAnonymous = true;
  const config = await loadConfig(values.config, overrides);
  // Handlers go in before the broker starts, so a signal during start-up still stops it cleanly.
  let stopping = false;
  const starting = createBroker(config);
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    starting
      .then(async (broker) => {
        broker.log.info({ signal }, 'stopping');
        await broker.close();
      })
      .then(
        () => process.exit(0),
        (err) => {
          console.error('junction: error while stopping:', err);
          process.exit(1);
        },
      );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  // SIGHUP reloads (the users file, certificates) as Mosquitto does; a part that cannot reload
  // keeps what it had and has logged why.
  process.on('SIGHUP', () => {
    if (stopping) return;
    void starting.then(
      (broker) => {
        broker.log.info({ signal: 'SIGHUP' }, 'reloading');
        return broker.reload().catch((err: unknown) => broker.log.warn({ err }, 'reload incomplete: what could not reload keeps its previous state'));
      },
      () => {}, // a failed start is reported where it is awaited
    );
  });
  await starting;
}

function isUsageError(err: unknown): boolean {
  if (isJunctionError(err)) return true;
  return err instanceof TypeError && typeof (err as NodeJS.ErrnoException).code === 'string' && (err as NodeJS.ErrnoException).code!.startsWith('ERR_PARSE_ARGS_');
}

/** A multi-line message (zod's list of bad fields: `✖ problem` then `→ at path`) as one line. */
function oneLine(text: string): string {
  const parts: string[] = [];
  for (const raw of text.split('\n')) {
    const l = raw.trim();
    if (l === '') continue;
    if (l.startsWith('→') && parts.length > 0) parts[parts.length - 1] += ` ${l.slice(1).trim()}`;
    else parts.push(l.replace(/^✖\s*/, ''));
  }
  return parts.length <= 1 ? (parts[0] ?? '') : `${parts[0]} ${parts.slice(1).join('; ')}`;
}

export async function main(argv: string[]): Promise<void> {
  try {
    await runProgram(argv, { usage: USAGE, version: VERSION, start });
  } catch (err) {
    // A user's mistake (a flag, the config, the data dir: a JunctionError, or parseArgs' TypeError
    // with an ERR_PARSE_ARGS_* code) is one line without a stack; anything else may be a bug and
    // keeps its stack.
    console.error(isUsageError(err) ? `junction: ${oneLine((err as Error).message)}` : err);
    process.exitCode = 2;
  }
}

await main(process.argv.slice(2));
