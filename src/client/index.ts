// wirecam/client for any JavaScript environment (browsers, Deno, Node 22+ with its global
// WebSocket). Node with the `ws` package gets ./node.js, which fills in the defaults.
export { WirecamClient, SUBPROTOCOLS, isTransientRefusal } from './wirecam-client.js';
export type {
  ConnectionState,
  Disconnect,
  HttpRefusal,
  Refused,
  StaleUpdate,
  StateChange,
  WebSocketConstructor,
  WebSocketLike,
  WirecamClientEvents,
  WirecamClientOptions,
} from './wirecam-client.js';
export { Backoff, DEFAULT_BACKOFF, type BackoffOptions } from '../util/backoff.js';
export { SeqFilter, type Freshness } from './freshness.js';
export { CameraInterpolator, lerpPose, poseToward, type CameraMotion, type CameraPose, type InterpolatorOptions } from './interpolate.js';
export { decodeFrame, DecodeError, msgpackrCodec, type MsgpackCodec, type MsgpackrLike } from './codec.js';
export { TypedEvents, type Listener } from './events.js';
export type { CameraUpdate, Encoding, ErrorMessage, Heartbeat, Hello, ServerMessage, TileUpdate } from '../protocol/messages.js';
export { LatencyWindow, RateMeter } from './stats.js';
