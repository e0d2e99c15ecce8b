import assert from 'node:assert/strict';
import { open, rm } from 'node:fs/promises';
import path from 'node:path';
import { after, test } from 'node:test';
import { mountSmallDisk } from '../helpers/tmpfs.ts';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { RawStomp, type RawFrame } from '../helpers/raw-stomp.ts';

/**
 * A real full disk: the broker's data dir is a small tmpfs mounted by the test (needs root and a
 * working `mount`; skipped otherwise). A ballast file takes the free space, so the journal's writes
 * fail with ENOSPC.
 */
const disk = mountSmallDisk('junction-diskfull-', '1m');
const { mnt, mounted } = disk;

const brokers: TestBroker[] = [];
const clients: RawStomp[] = [];
after(async () => {
  for (const c of clients) c.destroy();
  for (const b of brokers) await b.close().catch(() => undefined);
  disk.remove();
});

async function broker(): Promise<TestBroker> {
  const b = await startBroker({ dataDir: mnt, store: { type: 'journal', sync: 'always', segmentSize: 64 * 1024 } });
  brokers.push(b);
  return b;
}

async function client(b: TestBroker): Promise<RawStomp> {
  const c = await RawStomp.connect(b.ports.stomp!, { 'accept-version': '1.2', host: 'localhost' }, { timeout: 15_000 });
  clients.push(c);
  return c;
}

/** Sends one persistent message with a receipt on its own connection; returns the reply frame. */
async function sendOne(b: TestBroker, n: string, body: string): Promise<RawFrame> {
  const c = await client(b);
  c.send('SEND', { destination: '/queue/full', persistent: 'true', n, receipt: `r-${n}` }, body);
  const f = await c.nextFrame();
  c.destroy();
  return f;
}

/** Writes zeros to `file` until the file system is full. */
async function fillDisk(file: string): Promise<void> {
  const fh = await open(file, 'w');
  const chunk = Buffer.alloc(4096);
  try {
    for (;;) await fh.write(chunk);
  } catch (err) {
    assert.equal((err as NodeJS.ErrnoException).code, 'ENOSPC');
  } finally {
    await fh.close();
  }
}

async function receive(c: RawStomp, n: number): Promise<string[]> {
  const out: string[] = [];
  while (out.length < n) {
    const f = await c.nextFrame();
    assert.equal(f.command, 'MESSAGE', `${f.command}: ${f.header('message')}`);
    out.push(f.header('n')!);
  }
  return out;
}

test('disk full: producers get errors, never a false RECEIPT; the broker keeps delivering and resumes once space returns', { skip: mounted ? false : 'cannot mount a tmpfs here (needs root)' }, async () => {
  const big = 'x'.repeat(16 * 1024);
  let b = await broker();
  for (const n of ['a1', 'a2']) assert.equal((await sendOne(b, n, big)).command, 'RECEIPT');

  const ballast = path.join(mnt, 'ballast');
  await fillDisk(ballast);
  const failed: string[] = [];
  for (let i = 1; i <= 3; i++) {
    const f = await sendOne(b, `f${i}`, big);
    assert.equal(f.command, 'ERROR', `a send the journal could not write is not confirmed (got ${f.command})`);
    assert.match(f.header('message') ?? '', /^Message not stored/);
    failed.push(`f${i}`);
  }
  assert.equal(failed.length, 3);

  // What is stored is still delivered while the disk is full.
  const consumer = await client(b);
  consumer.send('SUBSCRIBE', { destination: '/queue/full', id: 's', ack: 'client-individual' });
  assert.deepEqual(await receive(consumer, 2), ['a1', 'a2']);
  consumer.destroy();

  // Space comes back: the next sends are stored and confirmed again.
  await rm(ballast);
  for (const n of ['b1', 'b2']) assert.equal((await sendOne(b, n, big)).command, 'RECEIPT', `send ${n} after space returned`);

  // After a restart exactly the confirmed messages are there, in order; the refused ones never are.
  await b.close();
  brokers.length = 0;
  b = await broker();
  const again = await client(b);
  again.send('SUBSCRIBE', { destination: '/queue/full', id: 's', ack: 'client-individual' });
  assert.deepEqual(await receive(again, 4), ['a1', 'a2', 'b1', 'b2']);
  again.send('DISCONNECT', { receipt: 'bye' });
  const last = await again.nextFrame();
  assert.equal(last.command, 'RECEIPT', `nothing else was delivered before the disconnect (${last.command} ${last.header('n') ?? ''})`);
});
