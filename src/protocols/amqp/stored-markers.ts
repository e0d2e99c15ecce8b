import { JunctionError } from '../../errors.ts';
import type { Message } from '../../core/message.ts';
import { readDescribed, SECTION, splitSections, type RawSection } from './sections.ts';

/**
 * The AMQP adapter's marker properties on a stored message (x-amqp-annotations, x-amqp-properties,
 * x-amqp-body) hold AMQP encodings it wrote itself, written as they are into the messages AMQP
 * consumers receive. Before they are, each is checked to be what it names, with every size inside
 * its bytes (issue 11, item 2): a marker a client set before ingress stripped them, or one damaged,
 * makes the message unmappable (ERR_AMQP_DECODE), and the consumer link dead-letters it.
 */

/**
 * Why a stored message cannot go to an AMQP consumer. The adapter's markers hold AMQP encodings it
 * wrote itself; one that is not what its name says (stored before ingress stripped client-set
 * markers, or damaged) is never written to a consumer: the consumer link dead-letters the message.
 */
export function unmappable(m: Message, why: string): JunctionError {
  return new JunctionError('ERR_AMQP_DECODE', `Message ${m.id} cannot be sent over AMQP: ${why}`);
}

const MAP8 = 0xc1;
const MAP32 = 0xd1;

/**
 * The encoded section a marker property holds (base64), checked to be exactly one section of `code`
 * whose value is a map, with every size inside the bytes (sections.ts bounds each one): the bytes
 * are written into the consumer's message as they are, and appendToMap reads the map's header.
 */
export function markerSection(m: Message, name: string, code: number): Buffer | undefined {
  const v = m.properties[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw unmappable(m, `${name} is not base64 text`);
  const checked = code === SECTION.messageAnnotations ? checkedAnnotations : checkedAppProperties;
  const known = checked.get(v);
  if (known) return known;
  const b = Buffer.from(v, 'base64');
  let parts: RawSection[];
  try {
    parts = splitSections(b);
  } catch (err) {
    throw unmappable(m, `${name}: ${(err as Error).message}`);
  }
  if (parts.length !== 1 || parts[0]!.code !== code) throw unmappable(m, `${name} is not one section 0x${code.toString(16)}`);
  const value = readDescribed(b, 0)!.valueStart;
  if (b[value] !== MAP8 && b[value] !== MAP32) throw unmappable(m, `${name} does not hold a map`);
  if (v.length <= CHECKED_MARKER_LENGTH) {
    if (checked.size >= CHECKED_MARKERS) checked.delete(checked.keys().next().value!);
    checked.set(v, b);
  }
  return b;
}

/**
 * Marker values already checked, with their bytes (never written to: the writer copies them). One
 * producer's messages carry the same annotations (Qpid JMS: x-opt-jms-msg-type, x-opt-jms-dest), so a
 * few entries spare nearly every delivery the base64 decode and the check; the oldest goes first.
 */
const checkedAnnotations = new Map<string, Buffer>();
const checkedAppProperties = new Map<string, Buffer>();
const CHECKED_MARKERS = 256;
const CHECKED_MARKER_LENGTH = 1024;

/** The body sections an `x-amqp-body` message keeps encoded, checked to be of its kind. */
export function encodedBody(m: Message, kind: 'value' | 'sequence' | 'data', name: string): Buffer {
  let parts: RawSection[];
  try {
    parts = splitSections(m.body);
  } catch (err) {
    throw unmappable(m, `${name} ${kind}: ${(err as Error).message}`);
  }
  const want = kind === 'value' ? SECTION.amqpValue : kind === 'sequence' ? SECTION.amqpSequence : SECTION.data;
  if (parts.length === 0 || (kind === 'value' && parts.length !== 1) || parts.some((p) => p.code !== want)) {
    throw unmappable(m, `${name} ${kind}: the body is not ${kind} sections`);
  }
  return m.body;
}
