/**
 * After a graceful close has begun (a TCP `end`, a WebSocket close handshake), the peer gets `ms` to
 * finish it; one that never reads or never answers is then cut off. The timer goes with the socket:
 * cleared on its 'close', so a connection that closes in time is not held in memory until it fires.
 */
export function forceCloseAfter(target: { once(event: 'close', cb: () => void): unknown }, ms: number, kill: () => void): void {
  const timer = setTimeout(kill, ms);
  timer.unref();
  target.once('close', () => clearTimeout(timer));
}
