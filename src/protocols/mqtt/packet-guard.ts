import { isUtf8 } from 'node:buffer';
import { JunctionError } from '../../errors.ts';

const CONNECT = 1;
const PUBLISH = 3;
const PUBACK = 4;
const PUBCOMP = 7;
const SUBSCRIBE = 8;
const UNSUBSCRIBE = 10;
const PINGREQ = 12;
const DISCONNECT = 14;

const State = {
  /** Fixed header byte. */
  HEADER: 0,
  /** Remaining length bytes. */
  LENGTH: 1,
  /** PUBLISH topic length (2 bytes). */
  TOPIC_LENGTH: 2,
  /** PUBLISH topic bytes. */
  TOPIC: 3,
  /** The rest of the packet, not looked at. */
  SKIP: 4,
  /** A packet id (2 bytes). */
  ID: 5,
  /** SUBSCRIBE / UNSUBSCRIBE payload: filter length, filter (, requested QoS), repeated. */
  FILTERS: 6,
  /** CONNECT: the whole packet, checked once it is there. */
  CONNECT: 7,
  /** After an MQTT 5 CONNECT, or a refused one: nothing more may come (the broker answers CONNACK and closes). */
  CLOSED: 8,
} as const;

/** CONNACK with return code 0x01, unacceptable protocol version ([MQTT-3.1.2-2], MQTT 3.1.1 table 3.1). */
const CONNACK_UNACCEPTABLE_PROTOCOL = Buffer.from([0x20, 0x02, 0x00, 0x01]);

const malformed = (what: string): JunctionError => new JunctionError('ERR_MQTT_MALFORMED', `Malformed MQTT packet: ${what}`);

/**
 * Watches the inbound MQTT byte stream ahead of the codec (aedes's mqtt-packet parser, which has no
 * size limit, decodes leniently and reads a field that does not fit its packet from the bytes of the
 * next one). A pure state machine over chunks, split anywhere; it throws a JunctionError at the first
 * violation (the connection must then close, [MQTT-4.8.0-1]):
 *
 * - a packet whose declared size is over the limit, before its body arrives (ERR_MQTT_PACKET_TOO_LARGE);
 * - a malformed remaining length; a field that does not fit in its packet: a CONNECT string, a PUBLISH
 *   topic or packet id, a SUBSCRIBE/UNSUBSCRIBE filter; a PUBACK/PUBREC/PUBREL/PUBCOMP not of 2 bytes,
 *   a SUBSCRIBE/UNSUBSCRIBE without a filter ([MQTT-3.8.3-3], [MQTT-3.10.3-2]) (ERR_MQTT_MALFORMED);
 * - a PUBLISH topic name that is not well-formed UTF-8 or holds U+0000 ([MQTT-1.5.3-1], [MQTT-1.5.3-2]; ERR_MQTT_TOPIC_INVALID);
 * - what the codec takes but 3.1.1 forbids (ERR_MQTT_PROTOCOL): packet id 0 on a QoS 1/2 PUBLISH,
 *   SUBSCRIBE or UNSUBSCRIBE ([MQTT-2.3.1-1]) and on PUBACK/PUBREC/PUBREL/PUBCOMP (they answer a
 *   PUBLISH or PUBREC, which never has id 0: Mosquitto refuses them too); a CONNECT whose will has
 *   QoS 3 ([MQTT-3.1.2-14]: closed without CONNACK); a SUBSCRIBE asking for QoS 3 ([MQTT-3.8.3-4]);
 * - anything after an MQTT 5 CONNECT (ERR_MQTT_PROTOCOL_VERSION: the broker answers it CONNACK 0x84,
 *   and the codec would read what follows with MQTT 5 properties);
 * - a CONNECT of a protocol level other than 3, 4 and 5 (ERR_MQTT_PROTOCOL_VERSION, with {@link reply}
 *   set to CONNACK 0x01: [MQTT-3.1.2-2] asks for that answer, and the codec would refuse the CONNECT
 *   with no answer at all). The level is checked before the rest of the packet, whose layout a level
 *   unknown to us does not tell.
 *
 * A PUBLISH costs a few steps and a view of its topic (copied only when it is split across chunks),
 * and a CONNECT's bytes are gathered once per connection.
 */
export class PacketGuard {
  private readonly maxPacketSize: number;
  private state: number = State.HEADER;
  private type = 0;
  private flags = 0;
  private length = 0;
  private multiplier = 1;
  private lengthBytes = 0;
  /** Bytes of the current packet's variable part still to come. */
  private left = 0;
  private topicLen = 0;
  private topicLenBytes = 0;
  private topic: Buffer | null = null;
  private topicAt = 0;
  /** Packet id bytes read (ID state) and their value. */
  private idBytes = 0;
  private id = 0;
  /** Filters: 0/1 filter length bytes, 2 filter bytes, 3 options byte (SUBSCRIBE only). */
  private entry = 0;
  private entryLeft = 0;
  /** The CONNECT's bytes as they arrive. */
  private connect: Buffer[] | null = null;
  /** Set with the error thrown for a CONNECT to refuse with a CONNACK: the bytes to write before closing. */
  reply: Buffer | null = null;

  constructor(maxPacketSize: number) {
    this.maxPacketSize = maxPacketSize;
  }

  /** Checks one chunk; throws a JunctionError at the first violation (the connection must then close). */
  push(chunk: Buffer): void {
    let i = 0;
    const n = chunk.length;
    while (i < n) {
      switch (this.state) {
        case State.HEADER: {
          const b = chunk[i++]!;
          this.type = b >> 4;
          this.flags = b & 0x0f;
          this.length = 0;
          this.multiplier = 1;
          this.lengthBytes = 0;
          this.state = State.LENGTH;
          break;
        }
        case State.LENGTH: {
          const b = chunk[i++]!;
          this.length += (b & 0x7f) * this.multiplier;
          this.multiplier *= 128;
          if (++this.lengthBytes > 4) throw malformed('remaining length of more than 4 bytes');
          if (b & 0x80) break;
          const size = 1 + this.lengthBytes + this.length;
          if (size > this.maxPacketSize) {
            throw new JunctionError('ERR_MQTT_PACKET_TOO_LARGE', `MQTT packet of ${size} bytes is over the limit of ${this.maxPacketSize}`);
          }
          this.left = this.length;
          this.next();
          break;
        }
        case State.TOPIC_LENGTH: {
          this.topicLen = this.topicLen * 256 + chunk[i++]!;
          this.left--;
          if (++this.topicLenBytes < 2) break;
          if (this.topicLen > this.left) throw malformed('PUBLISH topic length overruns the packet');
          if (this.topicLen > 0 && i + this.topicLen <= n) {
            // The whole topic is in this chunk (the usual case): checked where it is, not copied.
            const t = chunk.subarray(i, i + this.topicLen);
            if (!isUtf8(t) || t.includes(0)) throw new JunctionError('ERR_MQTT_TOPIC_INVALID', 'MQTT topic name is not valid UTF-8');
            i += this.topicLen;
            this.left -= this.topicLen;
            this.afterTopic();
          } else if (this.topicLen > 0) {
            this.topic = Buffer.allocUnsafe(this.topicLen);
            this.topicAt = 0;
            this.state = State.TOPIC;
          } else this.afterTopic();
          break;
        }
        case State.TOPIC: {
          const take = Math.min(n - i, this.topicLen - this.topicAt);
          chunk.copy(this.topic!, this.topicAt, i, i + take);
          this.topicAt += take;
          this.left -= take;
          i += take;
          if (this.topicAt < this.topicLen) break;
          const t = this.topic!;
          this.topic = null;
          if (!isUtf8(t) || t.includes(0)) throw new JunctionError('ERR_MQTT_TOPIC_INVALID', 'MQTT topic name is not valid UTF-8');
          this.afterTopic();
          break;
        }
        case State.SKIP: {
          const take = Math.min(n - i, this.left);
          this.left -= take;
          i += take;
          if (this.left === 0) this.state = State.HEADER;
          break;
        }
        case State.ID: {
          this.id = this.id * 256 + chunk[i++]!;
          this.left--;
          if (++this.idBytes < 2) break;
          if (this.id === 0) throw new JunctionError('ERR_MQTT_PROTOCOL', `MQTT packet identifier 0 in a ${PACKET_NAMES[this.type] ?? 'packet'} [MQTT-2.3.1-1]`);
          if (this.type === SUBSCRIBE || this.type === UNSUBSCRIBE) {
            this.entry = 0;
            this.state = State.FILTERS;
          } else this.state = this.left > 0 ? State.SKIP : State.HEADER;
          break;
        }
        case State.FILTERS:
          i = this.filters(chunk, i);
          break;
        case State.CONNECT: {
          const take = Math.min(n - i, this.left);
          this.connect!.push(chunk.subarray(i, i + take));
          this.left -= take;
          i += take;
          if (this.left > 0) break;
          const body = Buffer.concat(this.connect!);
          this.connect = null;
          const level = checkConnect(body);
          if (level !== undefined && level !== 3 && level !== 4 && level !== 5) {
            this.state = State.CLOSED;
            this.reply = CONNACK_UNACCEPTABLE_PROTOCOL;
            throw new JunctionError('ERR_MQTT_PROTOCOL_VERSION', `MQTT protocol level ${level} is not supported: CONNACK 0x01 [MQTT-3.1.2-2]`);
          }
          this.state = level === 5 ? State.CLOSED : State.HEADER;
          break;
        }
        case State.CLOSED:
          throw new JunctionError('ERR_MQTT_PROTOCOL_VERSION', 'MQTT 5 is not supported: nothing may follow its CONNECT');
      }
    }
  }

  /** After the fixed header: what to read of the packet, by type, and the lengths each type must have. */
  private next(): void {
    const t = this.type;
    if (t === PUBLISH) {
      // A topic length, and a packet id at QoS 1/2.
      if (this.left < 2) throw malformed('PUBLISH shorter than its topic length');
      this.topicLen = 0;
      this.topicLenBytes = 0;
      this.state = State.TOPIC_LENGTH;
    } else if (t >= PUBACK && t <= PUBCOMP) {
      // MQTT 3.1.1: exactly a packet id.
      if (this.left !== 2) throw malformed(`${PACKET_NAMES[t]} of ${this.left} bytes (2 expected)`);
      this.startId();
    } else if (t === SUBSCRIBE || t === UNSUBSCRIBE) {
      // A packet id and at least one filter ([MQTT-3.8.3-3], [MQTT-3.10.3-2]).
      if (this.left <= 2) throw malformed(`${PACKET_NAMES[t]} without a topic filter`);
      this.startId();
    } else if (t === CONNECT) {
      if (this.left === 0) throw malformed('empty CONNECT');
      this.connect = [];
      this.state = State.CONNECT;
    } else if ((t === PINGREQ || t === DISCONNECT) && this.left !== 0) {
      throw malformed(`${t === PINGREQ ? 'PINGREQ' : 'DISCONNECT'} with a body`);
    } else {
      this.state = this.left > 0 ? State.SKIP : State.HEADER;
    }
  }

  private startId(): void {
    this.id = 0;
    this.idBytes = 0;
    this.state = State.ID;
  }

  /** A PUBLISH topic was read: a QoS 1/2 packet id follows, within the packet. */
  private afterTopic(): void {
    const qos = (this.flags >> 1) & 3;
    if (qos > 0) {
      if (this.left < 2) throw malformed('PUBLISH without its packet identifier');
      this.startId();
    } else this.state = this.left > 0 ? State.SKIP : State.HEADER;
  }

  /** Filters from `i`: each within the packet; no requested QoS 3 in a SUBSCRIBE. Returns the new offset. */
  private filters(chunk: Buffer, i: number): number {
    const n = chunk.length;
    const subscribe = this.type === SUBSCRIBE;
    while (i < n && this.left > 0) {
      if (this.entry === 0) {
        this.entryLeft = chunk[i++]! * 256;
        this.left--;
        this.entry = 1;
        if (this.left === 0) throw malformed('topic filter length cut short');
      } else if (this.entry === 1) {
        this.entryLeft += chunk[i++]!;
        this.left--;
        // The filter (and a SUBSCRIBE's options byte) must fit.
        if (this.entryLeft + (subscribe ? 1 : 0) > this.left) throw malformed('topic filter length overruns the packet');
        this.entry = this.entryLeft > 0 ? 2 : subscribe ? 3 : 0;
      } else if (this.entry === 2) {
        const take = Math.min(n - i, this.entryLeft);
        i += take;
        this.entryLeft -= take;
        this.left -= take;
        if (this.entryLeft === 0) this.entry = subscribe ? 3 : 0;
      } else {
        const options = chunk[i++]!;
        this.left--;
        // [MQTT-3.8.3-4]: a requested QoS of 3 is malformed (the other reserved bits are the codec's to check).
        if ((options & 3) === 3) throw new JunctionError('ERR_MQTT_PROTOCOL', 'MQTT SUBSCRIBE requests QoS 3 [MQTT-3.8.3-4]');
        this.entry = 0;
      }
    }
    if (this.left === 0) this.state = State.HEADER;
    return i;
  }
}

/**
 * A whole CONNECT body: every field within the packet, no will of QoS 3 ([MQTT-3.1.2-14]). A
 * protocol name other than MQTT's is left to the codec (it refuses it). Returns the protocol level
 * (without the bridge bit 0x80, which the codec takes off too), undefined for a name not MQTT's; for
 * a level other than 3, 4 and 5 the rest is not looked at.
 */
function checkConnect(b: Buffer): number | undefined {
  let at = 0;
  const need = (n: number, what: string): void => {
    if (at + n > b.length) throw malformed(`CONNECT ${what} overruns the packet`);
  };
  const field = (what: string): void => {
    need(2, what);
    const len = b.readUInt16BE(at);
    at += 2;
    need(len, what);
    at += len;
  };
  const properties = (what: string): void => {
    let len = 0;
    let mult = 1;
    for (let k = 0; ; k++) {
      need(1, what);
      const x = b[at++]!;
      len += (x & 0x7f) * mult;
      mult *= 128;
      if (!(x & 0x80)) break;
      if (k === 3) throw malformed(`CONNECT ${what} length`);
    }
    need(len, what);
    at += len;
  };
  need(2, 'protocol name');
  const nameLen = b.readUInt16BE(0);
  const name = b.toString('latin1', 2, Math.min(b.length, 2 + nameLen));
  if (name !== 'MQTT' && name !== 'MQIsdp') return undefined;
  field('protocol name');
  need(1, 'protocol level');
  const level = b[at]! & 0x7f;
  if (level !== 3 && level !== 4 && level !== 5) return level;
  need(4, 'header');
  const flags = b[at + 1]!;
  at += 4;
  if (flags & 0x04 && ((flags >> 3) & 3) === 3) throw new JunctionError('ERR_MQTT_PROTOCOL', 'MQTT CONNECT will QoS 3 [MQTT-3.1.2-14]');
  if (level === 5) properties('properties');
  field('client identifier');
  if (flags & 0x04) {
    if (level === 5) properties('will properties');
    field('will topic');
    field('will message');
  }
  if (flags & 0x80) field('user name');
  if (flags & 0x40) field('password');
  return level;
}

const PACKET_NAMES: Record<number, string> = { 3: 'PUBLISH', 4: 'PUBACK', 5: 'PUBREC', 6: 'PUBREL', 7: 'PUBCOMP', 8: 'SUBSCRIBE', 10: 'UNSUBSCRIBE' };
