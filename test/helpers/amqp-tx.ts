import assert from 'node:assert/strict';
import rhea, { type Delivery, type Sender } from 'rhea';
import type { AmqpTestClient } from './amqp-client.ts';

/*
 * Local transactions (AMQP 1.0 §4) with the rhea client, which has none of its own: declare and
 * discharge are built from raw bodies, transactional sends and acks from raw states.
 */

interface RheaTypes {
  Writer: new () => { write(v: unknown): void; toBuffer(): Buffer };
  wrap_ulong(n: number): unknown;
  wrap_list(l: unknown[]): unknown;
  wrap_binary(b: Buffer): unknown;
  wrap_boolean(b: boolean): unknown;
  described(d: unknown, v: unknown): unknown;
}
const types = (rhea as unknown as { types: RheaTypes }).types;
export const accepted = () => (rhea.message as unknown as { accepted(): { described(): unknown } }).accepted().described();

export function transactionalState(txn: Buffer, outcome: unknown = null): unknown {
  return types.described(types.wrap_ulong(0x34), types.wrap_list([types.wrap_binary(txn), outcome]));
}

/** What the coordinator answered: the txn-id of a declared, or the condition of a rejected. */
export interface ControlOutcome {
  txnId?: Buffer;
  condition?: string;
  accepted?: boolean;
}

/** A coordinator link (target amqp:coordinator) with declare and discharge. */
export async function coordinator(c: AmqpTestClient): Promise<{ declare(): Promise<Buffer>; declareOutcome(): Promise<ControlOutcome>; discharge(txn: Buffer, fail: boolean): Promise<ControlOutcome> }> {
  const s = c.connection.open_sender({ target: {} }) as Sender & { local: { attach: { target: unknown } } };
  // rhea writes the attach on the next tick: it goes with a coordinator target instead.
  s.local.attach.target = types.described(types.wrap_ulong(0x30), types.wrap_list([]));
  s.on('sender_error', () => undefined);
  await new Promise<void>((resolve) => s.once('sendable', () => resolve()));
  let tag = 0;
  const control = (descriptor: number, fields: unknown[]) =>
    new Promise<ControlOutcome>((resolve) => {
      // An amqp-value section holding the described declare (0x31) or discharge (0x32) list.
      const section = Buffer.from([0x00, 0x53, 0x77, 0x00, 0x53, descriptor]);
      const list = new types.Writer();
      list.write(types.wrap_list(fields));
      const send = s as unknown as { send(b: Buffer, tag: Buffer, format: number): Delivery };
      const d = send.send(Buffer.concat([section, list.toBuffer()]), Buffer.from(`c${tag++}`), 0);
      s.on('settled', (ctx) => {
        if (ctx.delivery !== d) return;
        const st = (d as unknown as { remote_state?: { value?: Array<{ value?: unknown }>; error?: { condition: string }; constructor: { composite_type?: string } } }).remote_state;
        if (st?.error) resolve({ condition: st.error.condition });
        else if (st?.constructor.composite_type === 'accepted') resolve({ accepted: true });
        else resolve({ txnId: st?.value?.[0]?.value as Buffer });
      });
    });
  return {
    async declare() {
      const o = await control(0x31, []);
      assert.ok(Buffer.isBuffer(o.txnId), 'declared with a txn-id');
      return o.txnId;
    },
    declareOutcome: () => control(0x31, []),
    discharge: (txn, fail) => control(0x32, [types.wrap_binary(txn), types.wrap_boolean(fail)]),
  };
}

/** Sends a message (a body, or message fields) in a transaction (the transfer carries a transactional-state); resolves with the settled delivery. */
export function transactionalSend(s: Sender, body: string | Record<string, unknown>, txn: Buffer): Promise<Delivery> {
  const session = (s as unknown as { session: { output(frame: { delivery_id?: number; value: unknown[] }, payload?: Buffer): void } }).session;
  const output = session.output;
  const d = s.send((typeof body === 'string' ? { body } : body) as never);
  session.output = function (frame, payload) {
    if (frame.delivery_id === d.id) {
      frame.value[7] = transactionalState(txn); // transfer field 7, raw: rhea's accessor has no wrapper for it
      session.output = output;
    }
    return output.call(this, frame, payload);
  };
  return new Promise((resolve) => s.on('settled', (ctx) => ctx.delivery === d && resolve(d)));
}
