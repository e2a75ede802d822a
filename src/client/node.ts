// wirecam/client in Node: the same client, with `ws` as the WebSocket and msgpackr as the
// MessagePack codec, so `new WirecamClient({ url })` just works. `ws` rather than Node's
// global WebSocket (Node 22+): the same behaviour on every supported Node version.
import WebSocket from 'ws';
import * as msgpackr from 'msgpackr';
import { WirecamClient as BaseClient, type WebSocketConstructor, type WirecamClientOptions } from './wirecam-client.js';
import { msgpackrCodec } from './codec.js';

export * from './index.js';

const codec = msgpackrCodec(msgpackr);

// ws's event types are richer than the structural ones the client asks for.
const NodeWebSocket = WebSocket as unknown as WebSocketConstructor;

/**
 * The wirecam client with Node defaults: `ws` as the WebSocket and msgpackr as the MessagePack
 * codec, unless the options give others. Throws as the base class does.
 */
export class WirecamClient extends BaseClient {
  constructor(options: WirecamClientOptions) {
    super({ ...options, WebSocket: options.WebSocket ?? NodeWebSocket, msgpack: options.msgpack === undefined ? codec : options.msgpack });
  }
}
