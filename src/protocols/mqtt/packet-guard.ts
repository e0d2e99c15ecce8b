import { isUtf8 } from 'node:buffer';
import { JunctionError } from '../../errors.ts';

const CONNECT = 1;
const PUBLISH = 3;
const PUBACK = 4;
const PUBCOMP = 7;
const SUBSCRIBE = 8;
const UNSUBSCRIBE = 10;

/** The longest protocol name a CONNECT may carry (`MQIsdp`, MQTT 3.1); a longer one the codec refuses itself. */
const MAX_PROTOCOL_NAME = 6;

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
  /** The first bytes of the variable header (packet id; CONNECT's protocol name, level and flags). */
  HEAD: 5,
  /** SUBSCRIBE payload: filter length, filter, requested QoS, repeated. */
  FILTERS: 6,
} as const;

/**
 * Watches the inbound MQTT byte stream ahead of the codec (aedes's mqtt-packet parser, which has
 * no size limit and decodes leniently). A pure state machine over chunks, split anywhere; it throws
 * a JunctionError at the first violation (the connection must then close, [MQTT-4.8.0-1]):
 *
 * - a packet whose declared size is over the limit, before its body arrives (ERR_MQTT_PACKET_TOO_LARGE);
 * - a malformed remaining length, a topic or filter length past the packet (ERR_MQTT_MALFORMED);
 * - a PUBLISH topic name that is not well-formed UTF-8 or holds U+0000 ([MQTT-1.5.3-1], [MQTT-1.5.3-2]; ERR_MQTT_TOPIC_INVALID);
 * - what the codec takes but 3.1.1 forbids (ERR_MQTT_PROTOCOL): packet id 0 on a QoS 1/2 PUBLISH,
 *   SUBSCRIBE or UNSUBSCRIBE ([MQTT-2.3.1-1]) and on PUBACK/PUBREC/PUBREL/PUBCOMP (they answer a
 *   PUBLISH or PUBREC, which never has id 0: Mosquitto refuses them too); a CONNECT whose will has
 *   QoS 3 ([MQTT-3.1.2-14]: closed without CONNACK); a SUBSCRIBE asking for QoS 3 ([MQTT-3.8.3-4]).
 *
 * A PUBLISH costs what it did before plus two steps for a QoS 1/2 packet id; nothing is allocated
 * but the topic's bytes.
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
  /** The captured head of the variable header (HEAD state). */
  private readonly head = Buffer.alloc(2 + MAX_PROTOCOL_NAME + 2);
  private headAt = 0;
  private headNeed = 0;
  /** SUBSCRIBE payload: 0/1 filter length bytes, 2 filter bytes, 3 options byte. */
  private entry = 0;
  private entryLeft = 0;

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
          if (++this.lengthBytes > 4) throw new JunctionError('ERR_MQTT_MALFORMED', 'Malformed MQTT remaining length');
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
          if (this.topicLen > this.left) throw new JunctionError('ERR_MQTT_MALFORMED', 'MQTT topic length overruns the packet');
          if (this.topicLen > 0) {
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
        case State.HEAD: {
          this.head[this.headAt++] = chunk[i++]!;
          this.left--;
          if (this.type === CONNECT && this.headAt === 2) {
            const nameLen = this.head[0]! * 256 + this.head[1]!;
            // A longer protocol name is not MQTT: the codec refuses it.
            this.headNeed = nameLen <= MAX_PROTOCOL_NAME ? 2 + nameLen + 2 : 2;
          }
          if (this.headAt >= this.headNeed || this.left === 0) this.checkHead();
          break;
        }
        case State.FILTERS:
          i = this.filters(chunk, i);
          break;
      }
    }
  }

  /** After the fixed header: read a PUBLISH topic or the head of the variable header, skip anything else. */
  private next(): void {
    this.headAt = 0;
    if (this.left === 0) {
      this.state = State.HEADER;
    } else if (this.type === PUBLISH) {
      this.topicLen = 0;
      this.topicLenBytes = 0;
      this.state = this.left >= 2 ? State.TOPIC_LENGTH : State.SKIP;
    } else if (this.type === CONNECT) {
      this.headNeed = 2;
      this.state = State.HEAD;
    } else if ((this.type >= PUBACK && this.type <= PUBCOMP) || this.type === SUBSCRIBE || this.type === UNSUBSCRIBE) {
      this.headNeed = 2;
      this.state = State.HEAD;
    } else {
      this.state = State.SKIP;
    }
  }

  /** A PUBLISH topic was read: a QoS 1/2 packet id follows. */
  private afterTopic(): void {
    const qos = (this.flags >> 1) & 3;
    if (qos > 0 && this.left > 0) {
      this.headAt = 0;
      this.headNeed = 2;
      this.state = State.HEAD;
    } else this.state = this.left > 0 ? State.SKIP : State.HEADER;
  }

  /** The head is captured (or the packet ended first: the codec refuses a packet too short itself). */
  private checkHead(): void {
    const h = this.head;
    if (this.type === CONNECT) {
      if (this.headNeed > 2 && this.headAt === this.headNeed) {
        const flags = h[this.headNeed - 1]!;
        // [MQTT-3.1.2-14]: with the Will Flag set, Will QoS 3 is a protocol violation (no CONNACK).
        if (flags & 0x04 && ((flags >> 3) & 3) === 3) throw new JunctionError('ERR_MQTT_PROTOCOL', 'MQTT CONNECT will QoS 3 [MQTT-3.1.2-14]');
      }
    } else if (this.headAt === 2 && h[0] === 0 && h[1] === 0) {
      throw new JunctionError('ERR_MQTT_PROTOCOL', `MQTT packet identifier 0 in a ${PACKET_NAMES[this.type] ?? 'packet'} [MQTT-2.3.1-1]`);
    }
    if (this.left === 0) this.state = State.HEADER;
    else if (this.type === SUBSCRIBE) {
      this.entry = 0;
      this.state = State.FILTERS;
    } else this.state = State.SKIP;
  }

  /** SUBSCRIBE payload from `i`: each filter's length within the packet, no requested QoS 3. Returns the new offset. */
  private filters(chunk: Buffer, i: number): number {
    const n = chunk.length;
    while (i < n && this.left > 0) {
      if (this.entry === 0) {
        this.entryLeft = chunk[i++]! * 256;
        this.left--;
        this.entry = 1;
      } else if (this.entry === 1) {
        this.entryLeft += chunk[i++]!;
        this.left--;
        // The filter and its options byte must fit.
        if (this.entryLeft + 1 > this.left) throw new JunctionError('ERR_MQTT_MALFORMED', 'MQTT SUBSCRIBE filter length overruns the packet');
        this.entry = this.entryLeft > 0 ? 2 : 3;
      } else if (this.entry === 2) {
        const take = Math.min(n - i, this.entryLeft);
        i += take;
        this.entryLeft -= take;
        this.left -= take;
        if (this.entryLeft === 0) this.entry = 3;
      } else {
        const options = chunk[i++]!;
        this.left--;
        // [MQTT-3.8.3-4]: a requested QoS of 3 is malformed (reserved bits are the codec's: MQTT 5 uses them).
        if ((options & 3) === 3) throw new JunctionError('ERR_MQTT_PROTOCOL', 'MQTT SUBSCRIBE requests QoS 3 [MQTT-3.8.3-4]');
        this.entry = 0;
      }
    }
    if (this.left === 0) this.state = State.HEADER;
    return i;
  }
}

const PACKET_NAMES: Record<number, string> = { 3: 'PUBLISH', 4: 'PUBACK', 5: 'PUBREC', 6: 'PUBREL', 7: 'PUBCOMP', 8: 'SUBSCRIBE', 10: 'UNSUBSCRIBE' };
