import { createRequire } from 'node:module';
import rhea from 'rhea';
import { isJunctionError, JunctionError } from '../../errors.ts';

/**
 * Bounds on rhea's AMQP decoder, installed once on its `types.Reader` so that every path that decodes
 * AMQP bytes gets them: frames and SASL frames (rhea's transport), messages (rhea's `message.decode`
 * on every transfer, and mapping.ts on every delivery), transactional work (producer-link.ts).
 *
 * rhea trusts every size and count it reads. An `array32` whose count is 0xFFFFFFFF and whose element
 * type is zero-width (AMQP 1.0 §1.6: null, true, false, uint0, ulong0 and list0 have no bytes after
 * their constructor) made it loop four billion times on a 32-byte `open` (issue 11, item 1). With
 * these bounds, the work and the memory one decode costs are linear in the bytes decoded:
 *
 * - Nothing is read past the end of the buffer: every fixed width, size and count field is checked
 *   against the bytes there, so a truncated value is a decode error, never a silent short slice.
 * - A compound (list8/list32, map8/map32, array8/array32) must fit in the bytes that follow its size
 *   field, and must use exactly its size (AMQP 1.0 §1.2: size is the number of bytes of the encoding
 *   after the size field), so no nested compound can claim room its parent does not give it.
 * - A compound's count never exceeds its size in bytes after the count field. Every list or map
 *   element has at least its one-byte constructor; an array's elements share one constructor and a
 *   fixed-width element costs its width, and a zero-width element is charged one byte: such an
 *   element carries nothing but its position, no encoder we know sends arrays of them, and without
 *   the charge a few bytes could still ask for billions of decoded values.
 * - A map's count is even (AMQP 1.0 §1.6.23: key/value pairs).
 * - Nesting (compounds and descriptors together) is at most {@link MAX_DEPTH} deep: rhea's decoder and
 *   every walk over its output recurse once per level.
 * - A symbolic descriptor never names a member of `Object.prototype` (`__proto__`, `constructor`):
 *   rhea looks descriptors up in plain objects.
 * - A map key `__proto__` decodes as an own property, never as the object's prototype.
 *
 * - A frame or message that rhea's code fails on in any other way (a performative that is not a
 *   described list, say) is the same typed decode error, never a stray TypeError.
 *
 * What it costs: a comparison or two per field and per compound on top of rhea's own decoding; no
 * walk of its own, no copy.
 */

/**
 * Deepest nesting of compound and described values one decode accepts. AMQP 1.0 sets no limit; real
 * frames and messages nest a handful of levels (a described list of described maps). 100 is the
 * recursion limit protobuf decoders use by default; it keeps rhea's recursion far from the stack limit.
 */
export const MAX_DEPTH = 100;

interface TypeDesc {
  name: string;
  typecode: number;
  width: number;
  category: number;
  read?: (buffer: Buffer, offset: number) => unknown;
  encoding?: BufferEncoding;
  create: ((...args: unknown[]) => unknown) & { typecode?: number };
}

interface Constructor {
  typecode: number;
  descriptor?: unknown;
  descriptors?: unknown[];
}

interface Reader {
  buffer: Buffer;
  position: number;
  /** Current nesting depth (added by these bounds; undefined until the first compound or descriptor). */
  depth?: number;
  read(): unknown;
  read_uint(width: number): number;
  read_constructor(): Constructor;
  read_value(type: TypeDesc): unknown;
  read_n(n: number): unknown[];
  read_array_items(n: number, type: TypeDesc): unknown[];
  read_fixed_width(type: TypeDesc): unknown;
  read_variable_width(type: TypeDesc): unknown;
  read_compound(type: TypeDesc): unknown;
  read_array(type: TypeDesc): unknown;
  read_bytes(n: number): Buffer;
}

/** rhea's own error class for protocol errors (it dispatches those as 'protocol_error'). */
const rheaErrors = createRequire(import.meta.url)('rhea/lib/errors.js') as { ProtocolError: new (message: string) => Error };
const rheaFrames = createRequire(import.meta.url)('rhea/lib/frames.js') as { read_frame(b: Buffer): unknown };
const rheaMessage = rhea.message as unknown as { decode(b: Buffer): unknown };

/** True for the errors a bounded decode raises on bad input: ours, or rhea's protocol errors. */
export function isDecodeError(err: unknown): boolean {
  return (isJunctionError(err) && err.code === 'ERR_AMQP_DECODE') || err instanceof rheaErrors.ProtocolError;
}

/** `decode` with any other error turned into ERR_AMQP_DECODE. */
function typedErrors<T>(what: string, decode: (b: Buffer) => T): (b: Buffer) => T {
  return (b: Buffer): T => {
    try {
      return decode(b);
    } catch (err) {
      if (isDecodeError(err)) throw err;
      throw new JunctionError('ERR_AMQP_DECODE', `Malformed ${what}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
  };
}

interface RheaTypesInternals {
  Reader: { prototype: Reader };
  by_code: Record<number, TypeDesc | undefined>;
  is_map(o: unknown): boolean;
  unwrap(o: unknown, leaveDescribed?: boolean): unknown;
  unwrap_map_simple(o: { value: unknown[] }): unknown;
}

const MAP8 = 0xc1;
const MAP32 = 0xd1;

function fail(message: string): never {
  throw new JunctionError('ERR_AMQP_DECODE', message);
}

/**
 * An AMQP map's entries as an object's own properties, as rhea builds them, except that a key
 * `__proto__` is an own property like any other instead of setting the object's prototype. The
 * object keeps `Object.prototype` (rhea hands these objects to any code in the process that uses
 * rhea as a client, and such code may call `hasOwnProperty` on them); the broker reads them with
 * `Object.entries` or by fixed names only.
 */
function mapify(elements: unknown[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (let i = 0; i + 1 < elements.length; i += 2) {
    const key = String(elements[i]);
    if (key === '__proto__') Object.defineProperty(out, key, { value: elements[i + 1], enumerable: true, writable: true, configurable: true });
    else out[key] = elements[i + 1];
  }
  return out;
}

let installed = false;

/** Installs the bounds on rhea's decoder (idempotent; done when this module is first imported). */
export function installDecodeBounds(): void {
  if (installed) return;
  installed = true;
  const types = rhea.types as unknown as RheaTypesInternals;
  const proto = types.Reader.prototype;
  const byCode = types.by_code;

  proto.read_uint = function (this: Reader, width: number): number {
    const at = this.position;
    const end = at + width;
    if (end > this.buffer.length) fail(`Truncated: ${width}-byte field at offset ${at} of ${this.buffer.length}`);
    this.position = end;
    if (width === 1) return this.buffer[at]!;
    if (width === 2) return this.buffer.readUInt16BE(at);
    if (width === 4) return this.buffer.readUInt32BE(at);
    return fail(`Unexpected width ${width}`);
  };

  proto.read_fixed_width = function (this: Reader, type: TypeDesc): unknown {
    const at = this.position;
    const end = at + type.width;
    if (end > this.buffer.length) fail(`Truncated ${type.name} at offset ${at}`);
    this.position = end;
    return type.read ? type.read(this.buffer, at) : this.buffer.subarray(at, end);
  };

  proto.read_variable_width = function (this: Reader, type: TypeDesc): unknown {
    const size = this.read_uint(type.width);
    const at = this.position;
    if (size > this.buffer.length - at) fail(`${type.name} of ${size} bytes at offset ${at} exceeds the ${this.buffer.length - at} bytes left`);
    this.position = at + size;
    const slice = this.buffer.subarray(at, at + size);
    return type.encoding ? slice.toString(type.encoding) : slice;
  };

  // Iterative over a chain of descriptors (AMQP 1.0 §1.2: constructor = format-code / %x00 descriptor
  // constructor), each descriptor one level deeper; rhea recursed once per descriptor in the chain.
  proto.read_constructor = function (this: Reader): Constructor {
    let code = this.read_uint(1);
    if (code !== 0x00) {
      if (byCode[code] === undefined) fail(`Unknown type code 0x${code.toString(16)} at offset ${this.position - 1}`);
      return { typecode: code };
    }
    const descriptors: unknown[] = [];
    const base = this.depth ?? 0;
    while (code === 0x00) {
      if (base + descriptors.length >= MAX_DEPTH) fail(`Values nested deeper than ${MAX_DEPTH}`);
      this.depth = base + descriptors.length + 1;
      let d: unknown;
      try {
        d = this.read();
      } finally {
        this.depth = base;
      }
      const v = (d as { value?: unknown } | null)?.value;
      if (typeof v === 'string' && v in Object.prototype) fail(`Invalid descriptor ${JSON.stringify(v)}`);
      descriptors.push(d);
      code = this.read_uint(1);
    }
    if (byCode[code] === undefined) fail(`Unknown type code 0x${code.toString(16)} at offset ${this.position - 1}`);
    if (descriptors.length === 1) return { typecode: code, descriptor: descriptors[0] };
    return { typecode: code, descriptor: descriptors[0], descriptors };
  };

  proto.read_compound = function (this: Reader, type: TypeDesc): unknown {
    const w = type.width;
    const size = this.read_uint(w);
    const start = this.position;
    const end = start + size;
    if (end > this.buffer.length) fail(`${type.name} of ${size} bytes at offset ${start} exceeds the ${this.buffer.length - start} bytes left`);
    if (size < w) fail(`${type.name} size ${size} leaves no room for its count`);
    const count = this.read_uint(w);
    // Each element has at least its one-byte constructor.
    if (count > end - this.position) fail(`${type.name} count ${count} exceeds its ${end - this.position} bytes`);
    if ((type.typecode === MAP8 || type.typecode === MAP32) && count % 2 !== 0) fail(`${type.name} with an odd count ${count}`);
    const depth = this.depth ?? 0;
    if (depth >= MAX_DEPTH) fail(`Values nested deeper than ${MAX_DEPTH}`);
    this.depth = depth + 1;
    let items: unknown[];
    try {
      items = this.read_n(count);
    } finally {
      this.depth = depth;
    }
    if (this.position !== end) fail(`${type.name} at offset ${start} holds ${this.position - start} bytes, not its size ${size}`);
    return type.create(items);
  };

  proto.read_array = function (this: Reader, type: TypeDesc): unknown {
    const w = type.width;
    const size = this.read_uint(w);
    const start = this.position;
    const end = start + size;
    if (end > this.buffer.length) fail(`${type.name} of ${size} bytes at offset ${start} exceeds the ${this.buffer.length - start} bytes left`);
    if (size < w) fail(`${type.name} size ${size} leaves no room for its count`);
    const count = this.read_uint(w);
    // Bytes after the count field: the elements' shared constructor and the elements.
    const room = end - this.position;
    const depth = this.depth ?? 0;
    if (depth >= MAX_DEPTH) fail(`Values nested deeper than ${MAX_DEPTH}`);
    this.depth = depth + 1;
    let items: unknown[];
    let ctor: Constructor;
    try {
      ctor = this.read_constructor();
      const element = byCode[ctor.typecode]!;
      // Fixed-width elements cost their width; variable, compound and array elements at least their
      // size field; zero-width elements one byte each (see above: a count is never larger than the bytes).
      const cost = element.width > 0 ? element.width : 1;
      if (count > Math.floor(room / cost) || this.position > end) fail(`${type.name} count ${count} of ${element.name} exceeds its ${room} bytes`);
      items = this.read_array_items(count, element);
    } finally {
      this.depth = depth;
    }
    if (this.position !== end) fail(`${type.name} at offset ${start} holds ${this.position - start} bytes, not its size ${size}`);
    return type.create(items, ctor.typecode, ctor.descriptor);
  };

  rheaFrames.read_frame = typedErrors('frame', rheaFrames.read_frame.bind(rheaFrames));
  rheaMessage.decode = typedErrors('message', rheaMessage.decode.bind(rheaMessage));

  // rhea turns AMQP maps into plain objects: a key "__proto__" would set the object's prototype.
  // Maps unwrap with that key as an own property; everything else as rhea does it.
  const unwrap = types.unwrap;
  types.unwrap_map_simple = (o: { value: unknown[] }) => mapify(o.value.map((i) => types.unwrap(i, true)));
  types.unwrap = (o: unknown, leaveDescribed?: boolean): unknown => {
    if (isTypedMap(o) && (o.descriptor === undefined || !isComposite(unwrap, o))) {
      if (o.descriptor !== undefined && leaveDescribed) return o;
      return mapify(o.value.map((i) => types.unwrap(i, true)));
    }
    return unwrap(o, leaveDescribed);
  };
  function isTypedMap(o: unknown): o is { type: TypeDesc; value: unknown[]; descriptor?: unknown } {
    const t = (o as { type?: TypeDesc } | null)?.type;
    return t !== undefined && (t.typecode === MAP8 || t.typecode === MAP32) && Array.isArray((o as { value?: unknown }).value);
  }
}

/**
 * Whether rhea knows the descriptor of a described map as a composite (which it builds from the
 * value, with no map in between): asked of rhea's own unwrap with a stand-in of the same prototype,
 * descriptor and an empty value, so only rhea's table decides. Described maps are rare.
 */
function isComposite(unwrap: (o: unknown, leaveDescribed?: boolean) => unknown, o: { type: TypeDesc; descriptor?: unknown }): boolean {
  const probe = Object.create(Object.getPrototypeOf(o) as object) as Record<string, unknown>;
  probe.type = o.type;
  probe.descriptor = o.descriptor;
  probe.value = [];
  return unwrap(probe, true) !== probe;
}

installDecodeBounds();
