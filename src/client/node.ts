// wirecam/client in Node: the same client, with `ws` as the WebSocket and msgpackr as the
// MessagePack codec, so `new WirecamClient({ url })` just works. `ws` rather than Node's
// global WebSocket (Node 22+): the same behaviour on every supported Node version, and the
// HTTP answer to a refused upgrade is visible (browsers hide it).
import WebSocket from 'ws';
import type { ClientRequest, IncomingMessage } from 'node:http';
import * as msgpackr from 'msgpackr';
import { WirecamClient as BaseClient, type HttpRefusal, type WebSocketConstructor, type WirecamClientOptions } from './wirecam-client.js';
import { msgpackrCodec } from './codec.js';

export * from './index.js';

const codec = msgpackrCodec(msgpackr);

/** Most bytes of a refusal's body read (wirecam's are one short line). */
const REFUSAL_BODY_BYTES = 1024;
/** Most characters of the body's first line kept in HttpRefusal.message. */
const REFUSAL_MESSAGE_CHARS = 200;
/** How long the body of a refusal is waited for before the connection is dropped anyway (ms). */
const REFUSAL_BODY_WAIT_MS = 2000;

/**
 * `ws` that keeps the HTTP answer to a refused upgrade (status and the body's first line) in
 * `refusal`, then fails the connection as `ws` would have (an error, then close 1006): `ws`
 * itself reports only "Unexpected server response: <status>" and drops the body. The body
 * is read up to REFUSAL_BODY_BYTES, for at most REFUSAL_BODY_WAIT_MS.
 */
class RefusalAwareWebSocket extends WebSocket {
  /** The server's refusal of this connection's upgrade; null when there was none. */
  refusal: HttpRefusal | null = null;

  constructor(url: string, protocols?: string | string[]) {
    super(url, protocols);
    this.on('unexpected-response', (request: ClientRequest, response: IncomingMessage) => {
      readRefusal(response, (refusal) => {
        this.refusal = refusal;
        request.destroy();
        // Still CONNECTING: ws aborts the handshake, emits 'error', then 'close' with 1006.
        this.terminate();
      });
    });
  }
}

/** Reads the status and the first line of `response`'s body (bounded in bytes and time), then calls `done` once. */
function readRefusal(response: IncomingMessage, done: (refusal: HttpRefusal) => void): void {
  const chunks: Buffer[] = [];
  let bytes = 0;
  let finished = false;
  const finish = () => {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    response.removeAllListeners('data');
    const text = Buffer.concat(chunks).subarray(0, REFUSAL_BODY_BYTES).toString('utf8');
    const line = (text.split(/\r?\n/, 1)[0] ?? '').trim().slice(0, REFUSAL_MESSAGE_CHARS);
    done({ status: response.statusCode ?? 0, message: line });
  };
  const timer = setTimeout(finish, REFUSAL_BODY_WAIT_MS);
  response.on('data', (chunk: Buffer) => {
    chunks.push(chunk);
    bytes += chunk.length;
    if (bytes >= REFUSAL_BODY_BYTES) finish();
  });
  response.on('end', finish);
  response.on('error', finish);
  response.on('close', finish);
}

// ws's event types are richer than the structural ones the client asks for.
const NodeWebSocket = RefusalAwareWebSocket as unknown as WebSocketConstructor;

/**
 * The wirecam client with Node defaults: `ws` (keeping the HTTP answer to a refused upgrade,
 * reported as the `refused` event) as the WebSocket and msgpackr as the MessagePack codec,
 * unless the options give others. Throws as the base class does.
 */
export class WirecamClient extends BaseClient {
  constructor(options: WirecamClientOptions) {
    super({ ...options, WebSocket: options.WebSocket ?? NodeWebSocket, msgpack: options.msgpack === undefined ? codec : options.msgpack });
  }
}
