// The one place that reaches into a `ws` WebSocket's socket. Broadcast frames are framed once
// upstream and written to the socket directly, bypassing ws's per-send framing; ws still owns
// reading, pings and the closing handshake, and its state says when writing must stop.
import type { Socket } from 'node:net';
import WebSocket from 'ws';
import type { Transport } from './client.js';

/**
 * A `Transport` over a server-side `ws` WebSocket: bytes go to its socket (ws keeps it in the
 * private `_socket`, set once the handshake is done), and `open` is ws's `readyState`, which
 * leaves OPEN in the same call that writes ws's Close frame, whether the Close is ours or an
 * answer to the peer's (RFC 6455 section 5.5.1), and when the connection fails.
 */
export class WebSocketTransport implements Transport {
  private readonly socket: Socket;

  /** Throws when the WebSocket has no socket (not yet open, or already closed). */
  constructor(private readonly ws: WebSocket) {
    const socket = (ws as unknown as { _socket: Socket | null })._socket;
    if (socket === null || socket === undefined) throw new Error('the WebSocket has no socket (not open)');
    this.socket = socket;
  }

  /** `readyState === OPEN`: false once a Close frame was sent or received (RFC 6455 section 5.5.1). */
  get open(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  /** Writes whole frames to the socket; false when its buffer is past the high-water mark. */
  write(data: Buffer): boolean {
    return this.socket.write(data);
  }

  /** `socket.cork()`: writes until `uncork` leave together. */
  cork(): void {
    this.socket.cork();
  }

  /** `socket.uncork()`. */
  uncork(): void {
    this.socket.uncork();
  }

  /** Bytes in the socket's write buffer. */
  get writableLength(): number {
    return this.socket.writableLength;
  }

  /** The socket is backpressured until 'drain'. */
  get writableNeedDrain(): boolean {
    return this.socket.writableNeedDrain;
  }

  /** The socket is destroyed. */
  get destroyed(): boolean {
    return this.socket.destroyed;
  }

  /** The peer's TCP port (for telling connections from one address apart). */
  get remotePort(): number | undefined {
    return this.socket.remotePort;
  }

  /** Listens once for the socket's 'drain'. */
  once(event: 'drain', listener: () => void): this {
    this.socket.once(event, listener);
    return this;
  }
}
