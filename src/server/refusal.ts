// Every answer to a request or upgrade the server will not serve goes through here, whichever
// layer refused it: wirecam's admission (upgrade.ts), ws's own handshake checks
// (`wsClientError`), Node's HTTP parser and request deadline (`clientError`), and shutdown.
// The reply is written, the socket's sending side is closed, whatever the peer still sends is
// read and dropped, and the socket is destroyed when the peer closes its side or after a short
// deadline, whichever comes first: a refused socket never stays half-open (FIN-WAIT-2). While
// open it counts against its address's connection limit, and every refusal is counted by
// HTTP status and reason.
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { countRefusal, type ServiceCounters } from './counters.js';
import type { AccessPolicy } from './access.js';

/**
 * How long a refused socket may stay open after its reply, in ms, waiting for the peer to
 * close its side: long enough for the reply to reach a client on a slow link, short enough
 * that refusals cannot pile up (a peer that keeps the socket open or keeps sending is cut off).
 */
const REFUSAL_LINGER_MS = 2000;

/** An HTTP answer that ends a connection: status, a label for /metrics, a one-line body. */
export interface Refusal {
  /** HTTP status code (RFC 9110 section 15). */
  status: number;
  /** Short snake_case label for `wirecam_upgrades_refused_total{reason}`; one of a fixed set. */
  reason: string;
  /** One line of text for the body (a newline is added). */
  message: string;
  /** Extra response headers, e.g. `Sec-WebSocket-Version` (RFC 6455 section 4.4). */
  headers?: Readonly<Record<string, string>>;
}

/**
 * Writes `refusal` as a complete HTTP/1.1 response with `Connection: close`, ends the socket's
 * sending side, drops what the peer still sends, and destroys the socket when the peer closes
 * its side, or after `lingerMs` (0: as soon as the reply is flushed). A socket that is already
 * destroyed or no longer writable is destroyed without a reply. The deadline timer does not
 * keep the process alive.
 */
export function writeRefusal(socket: Duplex, refusal: Refusal, lingerMs: number): void {
  if (socket.destroyed) return;
  const destroy = () => socket.destroy();
  const timer = lingerMs > 0 ? setTimeout(destroy, lingerMs) : null;
  timer?.unref();
  socket.once('close', () => {
    if (timer !== null) clearTimeout(timer);
  });
  // The peer has closed its side too: nothing is left to wait for.
  socket.once('end', destroy);
  socket.on('error', destroy);
  if (!socket.writable) {
    destroy();
    return;
  }
  if (lingerMs <= 0) socket.once('finish', destroy);
  const body = `${refusal.message}\n`;
  const headers = {
    Connection: 'close',
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': String(Buffer.byteLength(body)),
    ...refusal.headers,
  };
  let head = `HTTP/1.1 ${refusal.status} ${STATUS_CODES[refusal.status] ?? 'Error'}\r\n`;
  for (const [name, value] of Object.entries(headers)) head += `${name}: ${value}\r\n`;
  socket.end(`${head}\r\n${body}`);
  // Read and drop the rest: a paused socket never sees the peer's FIN, and its descriptor
  // would stay open for as long as the peer likes.
  socket.resume();
}

/**
 * ws's handshake refusals (`wsClientError`, lib/websocket-server.js `handleUpgrade`) carry
 * only a message; the status and a reason label are recovered from it. ws would answer 405
 * for a method other than GET and 400 otherwise, with `Sec-WebSocket-Version: 13, 8` for an
 * unsupported version (RFC 6455 section 4.4); so does this.
 */
export function wsHandshakeRefusal(error: Error): Refusal {
  const message = error.message;
  if (message === 'Invalid HTTP method') return { status: 405, reason: 'method', message: 'a WebSocket upgrade is a GET', headers: { Allow: 'GET' } };
  if (message === 'Invalid Upgrade header') return { status: 400, reason: 'upgrade_header', message: 'Upgrade must be websocket' };
  if (message.includes('Sec-WebSocket-Key')) return { status: 400, reason: 'websocket_key', message };
  if (message.includes('Sec-WebSocket-Version')) return { status: 400, reason: 'websocket_version', message, headers: { 'Sec-WebSocket-Version': '13, 8' } };
  if (message.includes('Sec-WebSocket-Protocol')) return { status: 400, reason: 'subprotocol_header', message };
  if (message.includes('Sec-WebSocket-Extensions')) return { status: 400, reason: 'extensions_header', message };
  return { status: 400, reason: 'handshake', message: message || 'bad WebSocket handshake' };
}

/**
 * Node's `clientError` (a request the HTTP parser cannot read, or the request deadline of
 * `--handshake-timeout-ms`) as the answer Node itself would give: 431 for headers over
 * `--max-http-header-size`, 413 for chunk extensions too large, 408 for the deadline, 400 for
 * the rest. null for an error of the socket itself (reset, broken pipe): nothing to answer.
 */
export function clientErrorRefusal(error: Error & { code?: string }): Refusal | null {
  switch (error.code) {
    case 'HPE_HEADER_OVERFLOW':
      return { status: 431, reason: 'header_overflow', message: 'request headers too large' };
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return { status: 413, reason: 'chunk_extensions_overflow', message: 'chunk extensions too large' };
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return { status: 408, reason: 'timeout', message: 'request not completed in time' };
    default:
      return error.code?.startsWith('HPE_') ? { status: 400, reason: 'malformed', message: 'malformed HTTP request' } : null;
  }
}

/**
 * Answers refusals for the server: counts each in `counters.upgradesRefused` by status and
 * reason, and holds each refused socket against its address's connection limit
 * (`--max-connections-per-ip`) until it closes. An address already at its limit gets its
 * reply and the socket is destroyed as soon as the reply is flushed, so one address cannot
 * hold more than its limit of refused sockets open.
 */
export class Refusals {
  constructor(
    private readonly counters: ServiceCounters,
    private readonly access: AccessPolicy,
    private readonly lingerMs = REFUSAL_LINGER_MS,
  ) {}

  /** Counts `refusal`, answers it on `socket` and ends the socket (see `writeRefusal`). */
  refuse(socket: Duplex, refusal: Refusal): void {
    if (socket.destroyed) return;
    countRefusal(this.counters, refusal.status, refusal.reason);
    const address = (socket as Duplex & { remoteAddress?: string }).remoteAddress ?? 'unknown';
    const atLimit = this.access.addressAtLimit(address);
    this.access.connected(address);
    socket.once('close', () => this.access.disconnected(address));
    writeRefusal(socket, refusal, atLimit ? 0 : this.lingerMs);
  }

  /**
   * The server's `clientError` listener. Node may report several parse errors for one
   * socket (the peer keeps sending); only the first is answered. A socket whose response
   * has already begun cannot take another one and is destroyed.
   */
  clientError(error: Error & { code?: string }, socket: Duplex): void {
    if (socket.destroyed || socket.writableEnded) return;
    const refusal = clientErrorRefusal(error);
    const inFlight = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } | null })._httpMessage;
    if (refusal === null || inFlight?.headersSent === true) {
      socket.destroy();
      return;
    }
    this.refuse(socket, refusal);
  }
}
