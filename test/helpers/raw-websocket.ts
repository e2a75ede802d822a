// A WebSocket client on a plain TCP socket: it does the opening handshake itself (RFC 6455
// section 4.1) and keeps every byte the server sends after it, so a test can parse the
// server's byte stream frame by frame, in order, and see exactly what came after a Close.
// It can stop reading (the server sees a client that falls behind), read at a bounded rate,
// and send any frame, masked as a client must (section 5.3).
import { createHash, randomBytes } from 'node:crypto';
import { connect as tcpConnect, type Socket } from 'node:net';
import { waitFor } from './wait.js';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

export const OPCODE = { continuation: 0, text: 1, binary: 2, close: 8, ping: 9, pong: 10 } as const;

/** One frame as the server sent it (servers do not mask, RFC 6455 section 5.1). */
export interface RawFrame {
  fin: boolean;
  opcode: number;
  payload: Buffer;
  /** Offset of the frame's first byte in the stream after the handshake response. */
  offset: number;
}

export interface ParsedStream {
  frames: RawFrame[];
  /** Bytes at the end that do not make a whole frame. */
  partial: number;
}

/** Splits a server's byte stream into frames (RFC 6455 section 5.2). */
export function parseFrames(stream: Buffer): ParsedStream {
  const frames: RawFrame[] = [];
  let at = 0;
  for (;;) {
    if (stream.length - at < 2) break;
    const first = stream[at]!;
    const second = stream[at + 1]!;
    if ((second & 0x80) !== 0) throw new Error(`masked frame from the server at offset ${at}`);
    let length = second & 0x7f;
    let header = 2;
    if (length === 126) {
      if (stream.length - at < 4) break;
      length = stream.readUInt16BE(at + 2);
      header = 4;
    } else if (length === 127) {
      if (stream.length - at < 10) break;
      length = Number(stream.readBigUInt64BE(at + 2));
      header = 10;
    }
    if (stream.length - at < header + length) break;
    frames.push({ fin: (first & 0x80) !== 0, opcode: first & 0x0f, payload: stream.subarray(at + header, at + header + length), offset: at });
    at += header + length;
  }
  return { frames, partial: stream.length - at };
}

/** A client frame: masked with a random key, as RFC 6455 section 5.3 requires. */
export function clientFrame(opcode: number, payload: Buffer, options: { fin?: boolean; declaredLength?: number } = {}): Buffer {
  const length = options.declaredLength ?? payload.length;
  const lengthBytes = length < 126 ? 0 : length < 65536 ? 2 : 8;
  const header = Buffer.alloc(2 + lengthBytes + 4);
  header[0] = ((options.fin ?? true) ? 0x80 : 0) | opcode;
  if (lengthBytes === 0) header[1] = 0x80 | length;
  else if (lengthBytes === 2) {
    header[1] = 0x80 | 126;
    header.writeUInt16BE(length, 2);
  } else {
    header[1] = 0x80 | 127;
    header.writeBigUInt64BE(BigInt(length), 2);
  }
  const mask = randomBytes(4);
  mask.copy(header, 2 + lengthBytes);
  const masked = Buffer.from(payload);
  for (let i = 0; i < masked.length; i++) masked[i]! ^= mask[i % 4]!;
  return Buffer.concat([header, masked]);
}

/** The payload of a Close frame: status code and reason (RFC 6455 section 5.5.1). */
export function closePayload(code: number, reason = ''): Buffer {
  const payload = Buffer.alloc(2 + Buffer.byteLength(reason));
  payload.writeUInt16BE(code, 0);
  payload.write(reason, 2);
  return payload;
}

/** One client connection on a raw socket; every frame the server sent is in `frames`, in order. */
export class RawWebSocket {
  /** The HTTP response to the upgrade, as sent (status line and headers). */
  response = '';
  /** Every whole frame received, in order. */
  readonly frames: RawFrame[] = [];
  /** Received bytes not yet parsed into a whole frame. */
  private unparsed: Buffer = Buffer.alloc(0);
  /** Bytes received after the handshake response. */
  received = 0;
  /** Answer the server's Close with a Close, as an endpoint must (RFC 6455 section 5.5.1). */
  answerClose = true;
  private closeAnswered = false;
  /** The server ended its side (FIN) or the connection was reset / closed. */
  ended = false;
  error: Error | null = null;
  private rateTimer: NodeJS.Timeout | null = null;

  private constructor(readonly socket: Socket) {}

  /**
   * Connects and completes the handshake; `paused`: from then on nothing is read from the
   * socket until `resume()` or `readAtRate()` (the kernel's buffers fill, then the server's).
   */
  static async connect(url: string, options: { protocol?: string; query?: string; paused?: boolean } = {}): Promise<RawWebSocket> {
    const target = new URL(url);
    const socket = tcpConnect({ host: target.hostname, port: Number(target.port) });
    const raw = new RawWebSocket(socket);
    const key = randomBytes(16).toString('base64');
    const path = `${target.pathname}${options.query ? `?${options.query}` : ''}`;
    const lines = [
      `GET ${path} HTTP/1.1`,
      `Host: ${target.host}`,
      'Upgrade: websocket',
      'Connection: Upgrade',
      `Sec-WebSocket-Key: ${key}`,
      'Sec-WebSocket-Version: 13',
      ...(options.protocol ? [`Sec-WebSocket-Protocol: ${options.protocol}`] : []),
    ];
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.once('connect', () => resolve());
    });
    socket.write(lines.join('\r\n') + '\r\n\r\n');
    const head = await new Promise<{ response: string; rest: Buffer }>((resolve, reject) => {
      let buffered = Buffer.alloc(0);
      const onData = (chunk: Buffer) => {
        buffered = Buffer.concat([buffered, chunk]);
        const end = buffered.indexOf('\r\n\r\n');
        if (end === -1) return;
        socket.off('data', onData);
        socket.pause();
        resolve({ response: buffered.subarray(0, end).toString('latin1'), rest: buffered.subarray(end + 4) });
      };
      socket.on('data', onData);
      socket.once('close', () => reject(new Error('connection closed during the handshake')));
    });
    raw.response = head.response;
    const status = /^HTTP\/1\.1 (\d+)/.exec(head.response)?.[1];
    if (status !== '101') throw new Error(`upgrade refused: ${head.response.split('\r\n')[0]}`);
    const accept = /^sec-websocket-accept:\s*(\S+)/im.exec(head.response)?.[1];
    const expected = createHash('sha1').update(key + GUID).digest('base64');
    if (accept !== expected) throw new Error(`bad Sec-WebSocket-Accept ${accept}`);
    raw.take(head.rest);
    socket.on('end', () => (raw.ended = true));
    socket.on('close', () => (raw.ended = true));
    socket.on('error', (error) => (raw.error = error));
    if (!options.paused) raw.resume();
    return raw;
  }

  private take(chunk: Buffer): void {
    if (chunk.length === 0) return;
    const offset = this.received - this.unparsed.length;
    this.received += chunk.length;
    this.unparsed = this.unparsed.length === 0 ? chunk : Buffer.concat([this.unparsed, chunk]);
    const parsed = parseFrames(this.unparsed);
    for (const frame of parsed.frames) {
      // Own copies: the parsed frames outlive the chunk they came in.
      this.frames.push({ ...frame, payload: Buffer.from(frame.payload), offset: offset + frame.offset });
      if (frame.opcode === OPCODE.close && this.answerClose && !this.closeAnswered) {
        this.closeAnswered = true;
        if (!this.socket.destroyed) this.sendClose(closeOf(frame).code === 1005 ? 1000 : closeOf(frame).code);
      }
    }
    this.unparsed = parsed.partial === 0 ? Buffer.alloc(0) : Buffer.from(this.unparsed.subarray(this.unparsed.length - parsed.partial));
  }

  /** Bytes at the end of what was received that do not make a whole frame. */
  get partial(): number {
    return this.unparsed.length;
  }

  /** Reads everything as it comes. */
  resume(): void {
    this.stopRateTimer();
    this.socket.on('data', (chunk: Buffer) => this.take(chunk));
    this.socket.resume();
  }

  /** Reads about `bytesPerSecond` (a slow consumer that keeps reading), in 10 ms steps. */
  readAtRate(bytesPerSecond: number): void {
    const step = Math.max(1, Math.round(bytesPerSecond / 100));
    let allowance = 0;
    this.rateTimer = setInterval(() => {
      allowance = Math.min(allowance + step, 2 * step);
      for (;;) {
        if (allowance <= 0) break;
        const chunk = this.socket.read() as Buffer | null;
        if (chunk === null) break;
        this.take(chunk);
        allowance -= chunk.length;
      }
    }, 10);
  }

  private stopRateTimer(): void {
    if (this.rateTimer !== null) clearInterval(this.rateTimer);
    this.rateTimer = null;
  }

  send(frame: Buffer): void {
    this.socket.write(frame);
  }

  sendClose(code: number, reason = ''): void {
    this.closeAnswered = true;
    this.send(clientFrame(OPCODE.close, closePayload(code, reason)));
  }

  /** Waits until the server has ended the connection. */
  async waitForEnd(what: string, timeoutMs: number): Promise<void> {
    await waitFor(() => this.ended, what, timeoutMs);
    this.stopRateTimer();
    // What the socket still holds (read in paused mode) is part of the stream.
    for (let chunk = this.socket.read() as Buffer | null; chunk !== null; chunk = this.socket.read() as Buffer | null) this.take(chunk);
  }

  destroy(): void {
    this.stopRateTimer();
    this.socket.destroy();
  }
}

/** Code and reason of a Close frame's payload (1005 when it has none). */
export function closeOf(frame: RawFrame): { code: number; reason: string } {
  if (frame.payload.length < 2) return { code: 1005, reason: '' };
  return { code: frame.payload.readUInt16BE(0), reason: frame.payload.subarray(2).toString('utf8') };
}
