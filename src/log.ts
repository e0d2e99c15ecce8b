import pino, { type Logger } from 'pino';

/** The broker's structured logger: one JSON line per event, credentials redacted. */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      name: 'junction',
      level,
      base: { pid: process.pid },
      redact: { paths: ['*.passcode', '*.password', 'passcode', 'password'], censor: '[redacted]' },
    },
    destination ?? pino.destination({ dest: 1, sync: false }),
  );
}
