// WebSocket clients for tests. MessagePack is decoded with @msgpack/msgpack, a library
// independent of the server's encoder, so the two must agree on the bytes.
import WebSocket from 'ws';
import { decode } from '@msgpack/msgpack';
import { waitFor } from './wait.js';

export type Message = Record<string, unknown> & { type: string };

export interface ClientOptions {
  protocols?: string[];
  headers?: Record<string, string>;
  query?: string;
}

export class TestClient {
  readonly messages: Message[] = [];
  readonly received: Array<{ at: number; message: Message; binary: boolean }> = [];
  closed: { code: number; reason: string } | null = null;
  readonly ws: WebSocket;
  readonly opened: Promise<void>;

  constructor(url: string, options: ClientOptions = {}) {
    const target = options.query ? `${url}?${options.query}` : url;
    this.ws = new WebSocket(target, options.protocols ?? [], { headers: options.headers });
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => reject(Object.assign(new Error(`HTTP ${res.statusCode}: ${body.trim()}`), { status: res.statusCode, body })));
      });
      this.ws.once('error', reject);
    });
    this.ws.on('message', (data: Buffer, isBinary: boolean) => {
      const message = (isBinary ? decode(data) : JSON.parse(data.toString('utf8'))) as Message;
      this.messages.push(message);
      this.received.push({ at: Date.now(), message, binary: isBinary });
    });
    this.ws.on('close', (code, reason) => (this.closed = { code, reason: reason.toString() }));
    this.ws.on('error', () => undefined);
  }

  get protocol(): string {
    return this.ws.protocol;
  }

  ofType(type: string): Message[] {
    return this.messages.filter((m) => m.type === type);
  }

  cameraUpdates(camera?: string): Message[] {
    return this.messages.filter((m) => m.type === 'camera_update' && (camera === undefined || m.camera === camera));
  }

  lastCameraUpdate(camera = 'main'): Message | undefined {
    return this.cameraUpdates(camera).at(-1);
  }

  waitForMessage(predicate: (m: Message) => boolean, what: string, timeoutMs = 10_000): Promise<Message> {
    return waitFor(() => this.messages.find(predicate), what, timeoutMs);
  }

  waitForClose(timeoutMs = 10_000): Promise<{ code: number; reason: string }> {
    return waitFor(() => this.closed, 'the connection to close', timeoutMs);
  }

  sendJson(value: unknown): void {
    this.ws.send(JSON.stringify(value));
  }

  sendRaw(data: Buffer | string, binary: boolean): void {
    this.ws.send(data, { binary });
  }

  /** Stops reading from the socket: the server sees a client that does not keep up. */
  pause(): void {
    (this.ws as unknown as { _socket: import('node:net').Socket })._socket.pause();
  }

  resume(): void {
    (this.ws as unknown as { _socket: import('node:net').Socket })._socket.resume();
  }

  close(): void {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.terminate();
  }
}

const clients = new Set<TestClient>();

export async function connect(url: string, options: ClientOptions = {}): Promise<TestClient> {
  const client = new TestClient(url, options);
  clients.add(client);
  await client.opened;
  return client;
}

export function closeAllClients(): void {
  for (const client of clients) client.close();
  clients.clear();
}
