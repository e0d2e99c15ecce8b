import net from 'node:net';
import type { IStompSocket } from '@stomp/stompjs';

const CONNECTING = 0;
const OPEN = 1;
const CLOSING = 2;
const CLOSED = 3;

/**
 * A WebSocket-like wrapper around a TCP socket, so `@stomp/stompjs` (which only speaks
 * WebSocket) can talk STOMP over plain TCP: pass `() => new TcpStompSocket(host, port)` as the
 * client's `webSocketFactory`. Each TCP chunk becomes one `onmessage({ data: ArrayBuffer })`;
 * stompjs's parser is streaming, so chunk boundaries do not matter.
 */
export class TcpStompSocket implements IStompSocket {
  readonly url: string;
  /** stompjs sets this to 'arraybuffer', the only type it reads; data is always delivered so. */
  binaryType = 'arraybuffer';
  /** No subprotocol over plain TCP. */
  readonly protocol = '';
  onopen: ((ev?: unknown) => unknown) | null | undefined = null;
  onmessage: ((ev: { data: ArrayBuffer }) => unknown) | null | undefined = null;
  onclose: ((ev?: unknown) => unknown) | null | undefined = null;
  onerror: ((ev: unknown) => unknown) | null | undefined = null;
  private state = CONNECTING;
  private readonly socket: net.Socket;
  private error: Error | undefined;

  constructor(host: string, port: number) {
    this.url = `tcp://${host}:${port}`;
    this.socket = net.connect({ host, port });
    this.socket.setNoDelay(true);
    this.socket.on('connect', () => {
      this.state = OPEN;
      this.onopen?.({ type: 'open' });
    });
    this.socket.on('data', (chunk: Buffer) => {
      // A copy: the socket may reuse the chunk's memory.
      const data = new Uint8Array(chunk).buffer;
      this.onmessage?.({ data });
    });
    this.socket.on('error', (err) => {
      this.error = err;
      this.onerror?.({ type: 'error', error: err, message: err.message });
    });
    this.socket.on('close', (hadError) => {
      this.state = CLOSED;
      this.onclose?.({
        type: 'close',
        code: hadError ? 1006 : 1000,
        reason: this.error?.message ?? '',
        wasClean: !hadError,
      });
    });
  }

  get readyState(): number {
    return this.state;
  }

  send(data: string | ArrayBufferLike | Blob | ArrayBufferView): void {
    if (this.state !== OPEN) throw new Error(`TcpStompSocket.send while ${['CONNECTING', 'OPEN', 'CLOSING', 'CLOSED'][this.state]}`);
    if (typeof data === 'string') this.socket.write(data, 'utf8');
    else if (ArrayBuffer.isView(data)) this.socket.write(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
    else if (data instanceof ArrayBuffer || data instanceof SharedArrayBuffer) this.socket.write(Buffer.from(new Uint8Array(data)));
    else throw new Error('TcpStompSocket.send: Blob bodies are not supported');
  }

  /** Closes gracefully: sends FIN after queued data; `onclose` fires once the socket is closed. */
  close(): void {
    if (this.state === CLOSING || this.state === CLOSED) return;
    this.state = CLOSING;
    this.socket.end();
    // A peer that never closes its side must not keep the test process alive.
    setTimeout(() => this.socket.destroy(), 2000).unref();
  }

  /** Drops the connection at once (no FIN handshake), as a crashed client would. */
  terminate(): void {
    if (this.state === CLOSED) return;
    this.state = CLOSING;
    this.socket.destroy();
  }
}
