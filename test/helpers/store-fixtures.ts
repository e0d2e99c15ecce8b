import type { Destination, Message } from '../../src/core/message.ts';

/** A durable bytes message `n` as the store sees it: a `size`-byte body of `n % 256`, timestamp `n`. */
export function storedMessage(n: number, size = 16, destination: Destination = { type: 'queue', name: 'q' }, properties: Message['properties'] = {}): Message {
  return {
    id: `ID:t-${n}`,
    destination,
    body: Buffer.alloc(size, n % 256),
    bodyType: 'bytes',
    durable: true,
    priority: 4,
    expiration: 0,
    timestamp: n,
    properties,
  };
}
