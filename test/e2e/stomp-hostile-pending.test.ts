import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, describe, test } from 'node:test';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { assertServed, watchAttack, type AttackReport } from '../helpers/attack.ts';
import { RawStomp } from '../helpers/raw-stomp.ts';

// Frames read and not yet handled (issue 11, items 7 and 8): a connection stops being read at
// 1,024 such frames or stomp.maxInflightBytes. What a frame holds is not only its body: a frame of
// 1,000 one-character headers is 4 KB on the wire and about 1,000 header objects in the heap. The
// bytes counted must include the headers, or 1,024 such frames per connection hold tens of MiB.

let b: TestBroker;
const clients: RawStomp[] = [];
after(async () => {
  for (const c of clients) c.destroy();
  await b?.stop();
});

async function client(): Promise<RawStomp> {
  const c = await RawStomp.connect(b.ports.stomp!, { 'accept-version': '1.2', host: 'localhost' }, { timeout: 30_000 });
  clients.push(c);
  return c;
}

/** Writes frames until the broker stops reading (no drain within `stallMs`); returns the bytes written. */
async function writeUntilStalled(c: RawStomp, frames: Iterable<Buffer>, stallMs = 1500): Promise<number> {
  let written = 0;
  for (const f of frames) {
    written += f.length;
    if (c.socket.write(f)) continue;
    let timer: NodeJS.Timeout | undefined;
    const drained = await Promise.race([once(c.socket, 'drain').then(() => true), new Promise<boolean>((r) => (timer = setTimeout(() => r(false), stallMs)))]);
    clearTimeout(timer);
    if (!drained) return written;
  }
  return written;
}

describe('frames waiting behind a blocked one', () => {
  test('frames of many small headers count their headers: the connection stops being read before they hold the heap', async () => {
    // 4 MiB per connection: six connections may hold ~24 MiB of frames (bodies never reach it here).
    b = await startBroker({ store: { type: 'memory' }, stomp: { maxInflightBytes: 4 * 1024 * 1024 }, addressSettings: { 'hostile.full': { maxSizeBytes: 3000, addressFullPolicy: 'BLOCK' } } });
    const filler = await client();
    await filler.request('SEND', { destination: '/queue/hostile.full' }, 'x'.repeat(2000));
    const watch = await watchAttack({ stompPort: b.ports.stomp! });
    let report: AttackReport;
    let read = 0;
    try {
      await watch.roundTrips(1);
      const lines = 'a:b\n'.repeat(990);
      for (let k = 0; k < 6; k++) {
        const attacker = await client();
        // A SEND that waits for room, and a COMMIT that waits for it: every later frame waits behind them.
        attacker.send('SEND', { destination: '/queue/hostile.full' }, 'b'.repeat(1000));
        attacker.send('BEGIN', { transaction: 't' });
        attacker.send('COMMIT', { transaction: 't' });
        function* frames() {
          for (let i = 0; i < 20_000; i++) yield Buffer.from(`BEGIN\ntransaction:x${i}\n${lines}\n\0`);
        }
        read += await writeUntilStalled(attacker, frames());
      }
      await watch.roundTrips(2);
    } finally {
      report = await watch.stop();
    }
    console.log(`read ${Math.round(read / 1048576)} MiB of frames; RSS ${Math.round(report.rssStart / 1048576)} -> ${Math.round(report.rssMax / 1048576)} MiB`);
    assertServed(report, { maxRssGrowthMiB: 96 });
    assert.ok(read < 6 * 16 * 1024 * 1024, `read ${read} bytes`);
  });
});
