// Legacy JSON mode (no subprotocol) speaks the units of Geometry OS's own camera server,
// camera_sync.rs (docs/protocol.md section 4, at the end): `camera_update.timestamp` and
// `heartbeat.timestamp` are integer Unix seconds, `tile_update.timestamp` Unix seconds as a
// (fractional) number. Everything else is the wirecam.v1.json message unchanged.
import type { ServerMessage } from './messages.js';

/** Which pre-encoded frame a client receives: its encoding, or legacy JSON mode's own JSON. */
export type FrameFormat = 'json' | 'msgpack' | 'legacy';

/** Integer Unix seconds: milliseconds / 1000, rounded down (camera_sync.rs's `as_secs()`). */
function legacySeconds(ms: number): number {
  return Math.floor(ms / 1000);
}

/**
 * The message as legacy JSON mode sends it. `ms` timestamps become seconds: rounded down for
 * camera updates and heartbeats, fractional for tiles (camera_sync.rs's `as_secs_f64()`).
 * Messages without a timestamp are returned as they are.
 */
export function legacyMessage<M extends ServerMessage>(message: M): M {
  switch (message.type) {
    case 'camera_update':
    case 'heartbeat':
      return { ...message, timestamp: legacySeconds(message.timestamp) };
    case 'tile_update':
      return { ...message, timestamp: message.timestamp / 1000 };
    default:
      return message;
  }
}

