import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Option, type Command } from 'commander';
import rhea, { type Connection, type Delivery, type Receiver, type Sender } from 'rhea';
import { closeAmqp, filler, openAmqp, parseDestination, resolveBroker, type BrokerAddress, type LinkOptions } from './amqp-link.ts';
import { CliError, EXIT, clean } from './cli-error.ts';
import { integer, positiveNumber, printJson, withConnectionOptions, type ConnectionOpts } from './options.ts';
import { progressBar, type Progress } from './progress.ts';
import { ask } from './prompt.ts';

/** Options every client command (producer, consumer, perf) takes besides the connection ones. */
export interface ClientOpts extends ConnectionOpts {
  destination: string;
  broker?: string;
  protocol: string;
}

/** Adds `--destination`, `--broker`, `--protocol` (and the connection options). */
export function withClientOptions(cmd: Command, destinationDefault?: string): Command {
  const dest = new Option('--destination <dest>', 'queue://NAME or topic://NAME').argParser(parseDestination);
  if (destinationDefault === undefined) dest.makeOptionMandatory();
  else dest.default(destinationDefault);
  return withConnectionOptions(cmd)
    .addOption(dest)
    .option('--broker <url>', 'AMQP address (amqp://host:port); default: the host of --url and the AMQP port the broker reports')
    .addOption(new Option('--protocol <protocol>', 'client protocol').choices(['amqp']).default('amqp'));
}

/** Where to connect and as whom (the password from JUNCTION_PASSWORD, else asked on a terminal). */
export async function clientSetup(o: ClientOpts, role: string): Promise<{ address: BrokerAddress; link: (n: number) => LinkOptions }> {
  const address = await resolveBroker(o);
  const user = o.user || undefined;
  let password = process.env.JUNCTION_PASSWORD || undefined;
  if (user !== undefined && password === undefined && process.stdin.isTTY) password = await ask(`Password for ${user}: `, true, 'set JUNCTION_PASSWORD');
  const run = randomUUID().slice(0, 8);
  return {
    address,
    link: (n) => ({
      containerId: `junction-${role}-${run}-${n}`,
      ...(user === undefined ? {} : { user, password: password ?? '' }),
      ...(o.insecure ? { insecure: true } : {}),
      ...(o.ca === undefined ? {} : { ca: o.ca }),
    }),
  };
}

/** A link refused by the broker as a CliError: not allowed exit 3, no such address 4, else 1. */
export function linkError(what: string, error: unknown): CliError {
  const e = error as { condition?: string; description?: string } | undefined;
  const condition = e?.condition ?? '';
  const exit = /unauthorized/.test(condition) ? EXIT.auth : /not-found/.test(condition) ? EXIT.notFound : EXIT.failed;
  return new CliError(exit, `${what}: ${clean(condition, 100)}${e?.description ? ` ${clean(e.description, 300)}` : ''}`);
}

/** Resolves once the link is attached; rejects with the broker's refusal. */
export function attached(link: Sender | Receiver, what: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const kind = link.is_sender() ? 'sender' : 'receiver';
    link.once(`${kind}_open`, () => resolve());
    link.once(`${kind}_error`, (ctx) => reject(linkError(what, (ctx[kind] as { error?: unknown } | undefined)?.error ?? link.error)));
    link.once(`${kind}_close`, () => reject(linkError(what, link.error)));
    link.connection.once('disconnected', (ctx) => reject(linkError(`${what} (connection lost)`, ctx.error)));
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface ProducerOpts extends ClientOpts {
  messageCount: number;
  messageSize?: number;
  body?: string;
  rate?: number;
  persistent: boolean;
  threads: number;
  maxPending: number;
}

/** Sends `count` messages on one connection, paced to `rate`, and waits for every outcome. */
async function produce(connection: Connection, o: ProducerOpts, thread: number, progress: () => void): Promise<{ accepted: number; refused: number }> {
  const sender = connection.open_sender({ target: { address: o.destination }, autosettle: true });
  await attached(sender, `cannot send to ${o.destination}`);
  let settled = 0;
  let accepted = 0;
  let wake: (() => void) | undefined;
  let failure: CliError | undefined;
  const kick = (): void => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const outcome = (ok: boolean) => (): void => {
    settled++;
    if (ok) accepted++;
    progress();
    kick();
  };
  sender.on('accepted', outcome(true));
  sender.on('rejected', outcome(false));
  sender.on('released', outcome(false));
  sender.on('modified', outcome(false));
  sender.on('sendable', kick);
  sender.on('sender_close', () => {
    failure ??= linkError(`sending to ${o.destination} stopped`, sender.error);
    kick();
  });
  connection.on('disconnected', (ctx) => {
    failure ??= new CliError(EXIT.connect, `the broker closed the connection${ctx.error ? `: ${clean((ctx.error as Error).message ?? ctx.error, 200)}` : ''}`);
    kick();
  });
  const fixed = o.body ?? (o.messageSize === undefined ? undefined : filler(o.messageSize));
  const start = performance.now();
  let sent = 0;
  while (sent < o.messageCount && failure === undefined) {
    if (o.rate !== undefined) {
      const due = start + (sent * 1000) / o.rate;
      const wait = due - performance.now();
      if (wait > 1) await sleep(wait);
    }
    if (!sender.sendable() || sent - settled >= o.maxPending) {
      await new Promise<void>((r) => (wake = r));
      continue;
    }
    sender.send({
      body: fixed ?? `test message: ${sent}`,
      durable: o.persistent,
      application_properties: { count: sent, thread },
    });
    sent++;
    // Let the socket write and outcomes come in between bursts.
    if ((sent & 255) === 0) await new Promise((r) => setImmediate(r));
  }
  while (settled < sent && failure === undefined) await new Promise<void>((r) => (wake = r));
  if (failure) throw failure;
  return { accepted, refused: settled - accepted };
}

interface ConsumerOpts extends ClientOpts {
  messageCount: number;
  receiveTimeout: number;
  selector?: string;
  threads: number;
  prefetch: number;
  verbose?: boolean;
}

/**
 * Receives up to `count` messages (0: until idle) on one connection. Credit is granted by hand, never
 * past `count`, so the broker hands out exactly the messages this run accepts: none is taken and
 * released at the end.
 */
async function consume(connection: Connection, o: ConsumerOpts, progress: () => void): Promise<number> {
  const receiver = connection.open_receiver({
    source: { address: o.destination, ...(o.selector === undefined ? {} : { filter: rhea.filter.selector(o.selector) }) },
    credit_window: 0,
    autoaccept: false,
  });
  await attached(receiver, `cannot receive from ${o.destination}`);
  const limit = o.messageCount === 0 ? Infinity : o.messageCount;
  let received = 0;
  let granted = 0;
  const topUp = (): void => {
    const outstanding = granted - received;
    if (outstanding > o.prefetch / 2) return;
    const more = Math.min(o.prefetch - outstanding, limit - granted);
    if (more > 0) {
      receiver.add_credit(more);
      granted += more;
    }
  };
  return new Promise<number>((resolve, reject) => {
    let idle: NodeJS.Timeout | undefined;
    const arm = (): void => {
      if (o.receiveTimeout === 0) return;
      clearTimeout(idle);
      idle = setTimeout(() => finish(), o.receiveTimeout);
    };
    const finish = (err?: CliError): void => {
      clearTimeout(idle);
      receiver.removeAllListeners('message');
      if (err) reject(err);
      else resolve(received);
    };
    receiver.on('message', (ctx) => {
      if (received >= limit) return;
      received++;
      (ctx.delivery as Delivery).accept();
      if (o.verbose && !o.json) {
        const body = ctx.message?.body as unknown;
        console.log(clean(typeof body === 'string' ? body : Buffer.isBuffer(body) ? body.toString('utf8') : JSON.stringify(body), 10_000));
      }
      progress();
      if (received >= limit) finish();
      else {
        topUp();
        arm();
      }
    });
    receiver.on('receiver_close', () => finish(linkError(`receiving from ${o.destination} stopped`, receiver.error)));
    connection.on('disconnected', () => finish(new CliError(EXIT.connect, 'the broker closed the connection')));
    topUp();
    arm();
  });
}

/** Runs `threads` connections in parallel with a shared progress bar; closes them all. */
async function onConnections<T>(o: ClientOpts & { threads: number }, role: string, total: number, label: string, work: (c: Connection, thread: number, tick: () => void) => Promise<T>): Promise<{ results: T[]; seconds: number }> {
  const { address, link } = await clientSetup(o, role);
  const connections: Connection[] = [];
  let bar: Progress | undefined;
  try {
    for (let t = 0; t < o.threads; t++) connections.push(await openAmqp(address, link(t)));
    bar = progressBar(total, label, !o.json && total >= 1000);
    let done = 0;
    const tick = (): void => {
      done++;
      if ((done & 63) === 0 || done === total) bar!.update(done);
    };
    const start = performance.now();
    const results = await Promise.all(connections.map((c, t) => work(c, t, tick)));
    return { results, seconds: (performance.now() - start) / 1000 };
  } finally {
    bar?.stop();
    await Promise.all(connections.map((c) => closeAmqp(c)));
  }
}

/** Registers `producer` and `consumer`. */
export function registerClientCommands(program: Command): void {
  withClientOptions(program.command('producer').description('send messages over AMQP 1.0 (as artemis producer)'))
    .option('--message-count <n>', 'messages per thread', integer('--message-count', 1), 1000)
    .option('--message-size <bytes>', 'body of this many bytes (default: "test message: N")', integer('--message-size', 0))
    .addOption(new Option('--txt-size <bytes>', 'same as --message-size (Artemis name)').argParser(integer('--txt-size', 0)))
    .option('--body <text>', 'this body for every message')
    .option('--rate <n>', 'messages per second per thread (default: as fast as the broker takes them)', positiveNumber('--rate'))
    .option('--persistent', 'durable messages (the default)', true)
    .option('--non-persistent', 'non-durable messages')
    .option('--threads <n>', 'parallel connections, each sending --message-count', integer('--threads', 1), 1)
    .option('--max-pending <n>', 'most messages sent and not yet acknowledged per thread', integer('--max-pending', 1), 1000)
    .action(async (o: ProducerOpts & { txtSize?: number; nonPersistent?: boolean }) => {
      const opts: ProducerOpts = { ...o, persistent: !o.nonPersistent, ...(o.txtSize !== undefined && o.messageSize === undefined ? { messageSize: o.txtSize } : {}) };
      const total = opts.messageCount * opts.threads;
      const { results, seconds } = await onConnections(opts, 'producer', total, `producer ${opts.destination}`, (c, t, tick) => produce(c, opts, t, tick));
      const accepted = results.reduce((n, r) => n + r.accepted, 0);
      const refused = results.reduce((n, r) => n + r.refused, 0);
      const summary = { destination: opts.destination, sent: accepted + refused, accepted, refused, seconds: round(seconds), rate: round(accepted / Math.max(seconds, 1e-3)) };
      if (o.json) printJson(summary);
      else console.log(`produced ${accepted} message(s) to ${opts.destination} in ${summary.seconds} s (${summary.rate} msg/s)${refused > 0 ? `; ${refused} refused by the broker` : ''}`);
      process.exitCode = refused > 0 ? EXIT.failed : EXIT.ok;
    });

  withClientOptions(program.command('consumer').description('receive messages over AMQP 1.0 (as artemis consumer)'))
    .option('--message-count <n>', 'messages per thread; 0: until none comes for --receive-timeout', integer('--message-count', 0), 1000)
    .option('--receive-timeout <ms>', 'stop when no message came for this long (0: wait for ever)', integer('--receive-timeout', 0), 5000)
    .option('--selector <selector>', 'only messages matching this selector (docs/selectors.md)')
    .option('--threads <n>', 'parallel connections, each receiving --message-count', integer('--threads', 1), 1)
    .option('--prefetch <n>', 'credit window (messages in flight to this consumer)', integer('--prefetch', 1), 1000)
    .option('--verbose', 'print each body, one per line')
    .action(async (o: ConsumerOpts) => {
      const expected = o.messageCount * o.threads;
      const { results, seconds } = await onConnections(o, 'consumer', expected, `consumer ${o.destination}`, (c, _t, tick) => consume(c, o, tick));
      const received = results.reduce((n, r) => n + r, 0);
      const summary = { destination: o.destination, received, seconds: round(seconds), rate: round(received / Math.max(seconds, 1e-3)) };
      if (o.json) printJson(summary);
      else console.log(`consumed ${received} message(s) from ${o.destination} in ${summary.seconds} s (${summary.rate} msg/s)`);
      process.exitCode = expected > 0 && received < expected ? EXIT.failed : EXIT.ok;
    });

}

export function round(n: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}
