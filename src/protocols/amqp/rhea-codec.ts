import rhea from 'rhea';
import './decode-bounds.ts';

/* The parts of rhea's codec the adapter uses that rhea's typings leave out (types.Writer, the section composites). */

/** An encoded AMQP value as rhea builds it (opaque here). */
export type Typed = object;

interface Writer {
  write(v: unknown): void;
  write_bytes(b: Buffer): void;
  toBuffer(): Buffer;
  position: number;
}

export interface RheaTypes {
  Writer: new () => Writer;
  Reader: new (b: Buffer) => { read(): unknown };
  wrap(v: unknown): Typed;
  wrap_int(n: number): Typed;
  wrap_long(n: number): Typed;
  wrap_ulong(n: number): Typed;
  wrap_double(n: number): Typed;
  wrap_byte(n: number): Typed;
  wrap_uuid(b: Buffer): Typed;
  wrap_binary(b: Buffer): Typed;
  wrap_string(s: string): Typed;
  wrap_symbol(s: string): Typed;
  wrap_boolean(b: boolean): Typed;
  wrap_list(l: unknown[]): Typed;
  wrap_map(m: Record<string, unknown>): Typed;
  /** A map32 of already encoded (Typed) keys and values, alternating. */
  Map32(entries: unknown[]): Typed;
  wrap_symbolic_map(m: Record<string, unknown>): Typed;
  described(descriptor: Typed, value: Typed): Typed;
}

interface Composite {
  described(): Typed;
}

export interface RheaMessageCodec {
  header(fields: Record<string, unknown>): Composite;
  properties(fields: Record<string, unknown>): Composite;
  decode(b: Buffer): Record<string, unknown>;
  encode(m: Record<string, unknown>): Buffer;
  accepted(): Composite;
  released(): Composite;
  rejected(fields: Record<string, unknown>): Composite;
  modified(fields: Record<string, unknown>): Composite;
}

export const types = rhea.types as unknown as RheaTypes;
export const messageCodec = rhea.message as unknown as RheaMessageCodec;

/** Encodes one AMQP value. */
export function encode(typed: Typed): Buffer {
  const w = new types.Writer();
  w.write(typed);
  return w.toBuffer();
}
