import { isUtf8 } from 'node:buffer';
import { JunctionError } from '../../errors.ts';

const PUBLISH = 3;

/**
 * Watches the inbound MQTT byte stream ahead of the codec (aedes's mqtt-packet parser, which has
 * no size limit and decodes topic names leniently). A pure state machine over chunks, split anywhere:
 * it refuses a packet whose declared size is over the limit before its body arrives
 * (ERR_MQTT_PACKET_TOO_LARGE), a malformed remaining length (ERR_MQTT_MALFORMED), and a PUBLISH whose
 * topic name is not well-formed UTF-8 or holds U+0000 ([MQTT-1.5.3-1], [MQTT-1.5.3-2]; ERR_MQTT_TOPIC_INVALID).
 */
export class PacketGuard {
  private readonly maxPacketSize: number;
  /** 0: fixed header byte; 1: remaining length; 2: topic length; 3: topic bytes; 4: the rest. */
  private state = 0;
  private type = 0;
  private length = 0;
  private multiplier = 1;
  private lengthBytes = 0;
  /** Bytes of the current packet's variable part still to come. */
  private left = 0;
  private topicLen = 0;
  private topicLenBytes = 0;
  private topic: Buffer | null = null;
  private topicAt = 0;

  constructor(maxPacketSize: number) {
    this.maxPacketSize = maxPacketSize;
  }

  /** Checks one chunk; throws a JunctionError at the first violation (the connection must then close). */
  push(chunk: Buffer): void {
    let i = 0;
    const n = chunk.length;
    while (i < n) {
      switch (this.state) {
        case 0:
          this.type = chunk[i++]! >> 4;
          this.length = 0;
          this.multiplier = 1;
          this.lengthBytes = 0;
          this.state = 1;
          break;
        case 1: {
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
        case 2: {
          this.topicLen = this.topicLen * 256 + chunk[i++]!;
          this.left--;
          if (++this.topicLenBytes < 2) break;
          if (this.topicLen > this.left) throw new JunctionError('ERR_MQTT_MALFORMED', 'MQTT topic length overruns the packet');
          this.topic = Buffer.allocUnsafe(this.topicLen);
          this.topicAt = 0;
          this.state = this.topicLen > 0 ? 3 : 4;
          if (this.left === 0 && this.state === 4) this.state = 0;
          break;
        }
        case 3: {
          const take = Math.min(n - i, this.topicLen - this.topicAt);
          chunk.copy(this.topic!, this.topicAt, i, i + take);
          this.topicAt += take;
          this.left -= take;
          i += take;
          if (this.topicAt < this.topicLen) break;
          const t = this.topic!;
          this.topic = null;
          if (!isUtf8(t) || t.includes(0)) throw new JunctionError('ERR_MQTT_TOPIC_INVALID', 'MQTT topic name is not valid UTF-8');
          this.state = this.left > 0 ? 4 : 0;
          break;
        }
        case 4: {
          const take = Math.min(n - i, this.left);
          this.left -= take;
          i += take;
          if (this.left === 0) this.state = 0;
          break;
        }
      }
    }
  }

  /** After the fixed header: read a PUBLISH topic, skip anything else. */
  private next(): void {
    if (this.left === 0) {
      this.state = 0;
    } else if (this.type === PUBLISH) {
      this.topicLen = 0;
      this.topicLenBytes = 0;
      this.state = this.left >= 2 ? 2 : 4;
    } else {
      this.state = 4;
    }
  }
}
