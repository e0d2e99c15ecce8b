import { Command, CommanderError } from 'commander';
import { registerBrowseCommand } from './browse-command.ts';
import { registerClientCommands } from './client-commands.ts';
import { CliError, EXIT, apiErrorLine } from './cli-error.ts';
import { registerConnectionCommands } from './connection-command.ts';
import { registerPerfCommand } from './perf-command.ts';
import { registerQueueCommands } from './queue-command.ts';
import { ROUTE_USAGE, routeCommand } from './route-command.ts';
import { registerRemoteRouteCommands } from './route-remote.ts';
import { userCommand } from './user-command.ts';

/** What main.ts hands the program: the texts and the commands that run a broker. */
export interface ProgramParts {
  readonly usage: string;
  readonly version: string;
  /** `junction start ARGS`: parses its own flags (node:util parseArgs, kept as it was). */
  readonly start: (argv: string[]) => Promise<void>;
}

/**
 * A command whose arguments are handed, as typed, to a parser of its own (`start`, `user`, the
 * offline `route test|validate|schema`): those kept their node:util parseArgs flags, messages and
 * exit codes when the CLI moved to commander.
 */
function passThrough(parent: Command, name: string, description: string, run: (args: string[]) => Promise<number | void>): Command {
  return parent
    .command(name)
    .description(description)
    .helpOption(false)
    .allowUnknownOption()
    .allowExcessArguments()
    .action(async (_opts: unknown, cmd: Command) => {
      const code = await run(cmd.args);
      if (typeof code === 'number') process.exitCode = code;
    });
}

/** The `junction` command line (commander 14): every command, old and new. */
export function buildProgram(parts: ProgramParts): Command {
  const program = new Command('junction');
  // Settings copied to every subcommand made after them: errors come back to runProgram (one line,
  // exit 2) instead of commander printing them and calling process.exit.
  program
    .exitOverride()
    .configureOutput({ writeOut: (s) => process.stdout.write(s), writeErr: (s) => process.stderr.write(s), outputError: () => {} })
    .enablePositionalOptions()
    .version(parts.version, '--version', 'print the version');
  program.helpInformation = () => `${parts.usage}\n`;

  passThrough(program, 'start', 'run the broker in this process', async (args) => parts.start(args));
  passThrough(program, 'user', 'edit the users file', (args) => userCommand(args));
  program
    .command('version')
    .description('print the version')
    .action(() => console.log(parts.version));

  const route = program
    .command('route')
    .description('routes: test, validate, schema (offline); list, deploy, undeploy, suspend, resume, restart, graph (on a broker)')
    .enablePositionalOptions()
    .argument('[command]')
    .allowExcessArguments()
    .allowUnknownOption()
    .action((sub: string | undefined) => {
      console.log(ROUTE_USAGE);
      process.exitCode = sub === undefined || sub === 'help' ? EXIT.ok : EXIT.usage;
    });
  route.helpInformation = () => `${ROUTE_USAGE}\n`;
  passThrough(route, 'test', 'test a route file against an in-process broker', (args) => routeCommand(['test', ...args]));
  passThrough(route, 'validate', 'check route files as a deploy would', (args) => routeCommand(['validate', ...args]));
  passThrough(route, 'schema', 'print the JSON Schema of route files', (args) => routeCommand(['schema', ...args]));
  registerRemoteRouteCommands(route, (file) => routeCommand(['graph', file]));

  registerQueueCommands(program);
  registerBrowseCommand(program);
  registerConnectionCommands(program);
  registerClientCommands(program);
  registerPerfCommand(program);
  return program;
}

/**
 * Runs the command line. Failures with a known meaning (a usage error, a refused login, a missing
 * queue, a broker that is down) are one `junction: ...` line on stderr (with `--json`: the API's
 * `{"error":{...}}` on one line) and their exit code; anything else is rethrown to main.
 */
export async function runProgram(argv: string[], parts: ProgramParts): Promise<void> {
  if (argv.length === 0) {
    console.log(parts.usage);
    return;
  }
  const program = buildProgram(parts);
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.unknownCommand') {
        console.error(`Unknown command '${argv[0]}'\n\n${parts.usage}`);
        process.exitCode = EXIT.usage;
      } else if (err.exitCode === 0) {
        process.exitCode = EXIT.ok;
      } else {
        if (err.code !== 'commander.help') console.error(`junction: ${err.message.replace(/^error: /, '').split('\n')[0]}`);
        process.exitCode = EXIT.usage;
      }
      return;
    }
    if (err instanceof CliError) {
      const json = argv.includes('--json');
      const api = err.api ?? { code: codeName(err.exitCode), message: err.message };
      console.error(json ? JSON.stringify({ error: api }) : `junction: ${err.api ? apiErrorLine(err.api) : err.message}`);
      process.exitCode = err.exitCode;
      return;
    }
    throw err;
  }
}

function codeName(exit: number): string {
  return exit === EXIT.usage ? 'ERR_USAGE' : exit === EXIT.auth ? 'ERR_AUTH' : exit === EXIT.notFound ? 'ERR_NOT_FOUND' : exit === EXIT.connect ? 'ERR_CONNECT' : 'ERR_FAILED';
}
