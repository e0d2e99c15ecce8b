import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { CliError, EXIT } from './cli-error.ts';

/** Longest answer kept from the terminal, characters. */
const MAX_ANSWER = 4096;

/**
 * Asks one line on the terminal (stderr, so stdout stays machine-readable). `hidden`: nothing typed
 * is echoed (a password), as ssh and psql prompt. Without a terminal it refuses, saying how
 * else to pass the value.
 */
export function ask(question: string, hidden: boolean, otherwise: string): Promise<string> {
  if (!process.stdin.isTTY || !process.stderr.isTTY) return Promise.reject(new CliError(EXIT.auth, `the server asks for a login and there is no terminal to prompt on: ${otherwise}`));
  let muted = false;
  // The interface echoes through this stream; muted once the question is out.
  const output = new Writable({
    write(chunk: Buffer, _enc, done) {
      if (!muted) process.stderr.write(chunk);
      done();
    },
  });
  const rl = createInterface({ input: process.stdin, output, terminal: true });
  return new Promise<string>((resolve, reject) => {
    rl.on('SIGINT', () => {
      rl.close();
      process.stderr.write('\n');
      reject(new CliError(EXIT.auth, 'cancelled'));
    });
    rl.question(question, (answer) => {
      rl.close();
      if (hidden) process.stderr.write('\n');
      resolve(answer.slice(0, MAX_ANSWER));
    });
    muted = hidden;
  });
}
