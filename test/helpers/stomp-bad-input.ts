import assert from 'node:assert/strict';
import { ErrorCodes } from '../../src/errors.ts';
import { ERROR_MESSAGES } from '../../src/protocols/stomp/stomp-errors.ts';
import type { TestBroker } from './broker.ts';
import { RawStomp, type RawFrame } from './raw-stomp.ts';

/**
 * The common check of every bad-input test (STOMP 1.2: "ERROR ... then close"): the offender
 * gets one ERROR with a `message` header and a detail body and is disconnected; a client
 * connected at the same time keeps working; and messages stored before are still delivered.
 */

const clients: RawStomp[] = [];
let seq = 0;
/** Every `message` an ERROR may carry: one stable short reason per error code (issue 12 item 10). */
const REASONS = new Set([...Object.values(ERROR_MESSAGES), ...Object.values(ErrorCodes)]);

/** Destroys every client opened here; call it in `afterEach` so a failed test leaves no socket. */
export function destroyRawClients(): void {
  for (const c of clients.splice(0)) c.destroy();
}

/** A raw connection without CONNECT, destroyed by {@link destroyRawClients}. */
export async function open(port: number): Promise<RawStomp> {
  const c = await RawStomp.open(port);
  clients.push(c);
  return c;
}

/** A connected raw client (STOMP 1.2 unless `headers` say otherwise), destroyed by {@link destroyRawClients}. */
export async function connect(port: number, headers: Record<string, string> = { 'accept-version': '1.2', host: 'localhost' }): Promise<RawStomp> {
  const c = await RawStomp.connect(port, headers);
  clients.push(c);
  return c;
}

/** A name no other test uses. */
export function unique(prefix: string): string {
  return `${prefix}.${++seq}`;
}

export interface BadInput {
  /** CONNECT headers of the offending client; `false` sends the bad bytes before any CONNECT. */
  connect?: Record<string, string> | false;
  /** Puts the bad input on the wire. */
  bad(c: RawStomp): void | Promise<void>;
}

/**
 * Runs one bad input with a bystander connected alongside, asserts ERROR, close, a working
 * bystander and no lost stored messages, and returns the ERROR for case-specific checks.
 */
export async function rejects(broker: TestBroker, input: BadInput): Promise<RawFrame> {
  const port = broker.ports.stomp!;
  const kept = `/queue/${unique('kept')}`;
  const bystander = await connect(port);
  await bystander.request('SEND', { destination: kept, persistent: 'true' }, 'from the bystander');
  const expected = ['from the bystander'];
  let bad: RawStomp;
  if (input.connect === false) bad = await open(port);
  else {
    bad = await connect(port, input.connect);
    await bad.request('SEND', { destination: kept, persistent: 'true' }, 'from the bad client');
    expected.push('from the bad client');
  }

  await input.bad(bad);
  const error = await bad.nextFrame();
  assert.equal(error.command, 'ERROR', `expected ERROR, got ${error.command}: ${error.text}`);
  // The message header is one stable short reason (what clients show and match on); the detail is in the body.
  assert.ok(REASONS.has(error.header('message') ?? ''), `the message header is a stable short reason, not ${JSON.stringify(error.header('message'))}`);
  assert.ok(error.text.trim().length > 0, 'the ERROR body has the detail');
  await bad.closed();
  assert.equal(bad.pending, 0, 'nothing follows the ERROR');

  // The bystander, connected all along, still works, and the stored messages are all there.
  bystander.send('SUBSCRIBE', { id: 'kept', destination: kept, ack: 'client-individual' });
  const got: string[] = [];
  for (let i = 0; i < expected.length; i++) {
    const m = await bystander.nextFrame();
    assert.equal(m.command, 'MESSAGE');
    got.push(m.text);
    bystander.send('ACK', { id: m.header('ack')! });
  }
  assert.deepEqual(got, expected);
  await bystander.request('SEND', { destination: kept }, 'after the bad input');
  const live = await bystander.nextFrame();
  assert.equal(live.command, 'MESSAGE');
  assert.equal(live.text, 'after the bad input');
  await bystander.request('DISCONNECT', {});
  return error;
}
