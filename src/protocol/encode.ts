// Server messages to wire bytes: each message is encoded once per encoding and framed once.
import type { CameraUpdate, Encoding, ServerMessage, TileUpdate } from './messages.js';
import { MsgpackWriter } from './msgpack-writer.js';
import { frameMessage } from './frame.js';
import { legacyMessage } from './legacy.js';
import type { CameraInput, TileInput } from './messages.js';

/** Keys whose numbers are float64 on the wire whatever their value (docs/protocol.md section 2). */
const CAMERA_FLOAT_KEYS: ReadonlySet<string> = new Set(['x', 'y', 'zoom', 'target_x', 'target_y', 'target_zoom']);
const NO_FLOAT_KEYS: ReadonlySet<string> = new Set();

const writer = new MsgpackWriter();

function floatKeysOf(message: ServerMessage): ReadonlySet<string> {
  return message.type === 'camera_update' ? CAMERA_FLOAT_KEYS : NO_FLOAT_KEYS;
}

/**
 * A message's payload, without WebSocket header: UTF-8 JSON, or MessagePack with the camera
 * coordinates as float64 (docs/protocol.md section 2). Throws TypeError on a value MessagePack cannot
 * carry (a function, a symbol, a BigInt).
 */
export function encodePayload(message: ServerMessage, encoding: Encoding): Buffer {
  if (encoding === 'json') return Buffer.from(JSON.stringify(message), 'utf8');
  return writer.encode(message, floatKeysOf(message));
}

/**
 * A complete unmasked server frame of `message`: text for `json`, binary for `msgpack`
 * (RFC 6455 section 5.2).
 */
export function encodeFrame(message: ServerMessage, encoding: Encoding): Buffer {
  return frameMessage(encodePayload(message, encoding), encoding === 'msgpack');
}

/** A message as complete WebSocket frames, one per encoding: `json` (text) and `msgpack` (binary). */
export interface FramedPair {
  json: Buffer;
  msgpack: Buffer;
}

/** A message framed once per frame format: JSON, MessagePack and legacy JSON mode's JSON. */
export interface FramedSet extends FramedPair {
  legacy: Buffer;
}

/** The same message encoded and framed once per encoding, for writing to every client as is. */
export function encodeFramedPair(message: ServerMessage): FramedPair {
  return { json: encodeFrame(message, 'json'), msgpack: encodeFrame(message, 'msgpack') };
}

/** Each format's frame of one message (legacy: in camera_sync.rs's units, protocol/legacy.ts). */
export function encodeFramedSet(message: ServerMessage): FramedSet {
  return { ...encodeFramedPair(message), legacy: encodeFrame(legacyMessage(message), 'json') };
}

/** The wire form of a stored camera state: key order fixed, absent targets filled in. */
export function cameraUpdateMessage(seq: number, input: CameraInput): CameraUpdate {
  return {
    type: 'camera_update',
    camera: input.camera,
    seq,
    x: input.x,
    y: input.y,
    zoom: input.zoom,
    target_x: input.target_x ?? input.x,
    target_y: input.target_y ?? input.y,
    target_zoom: input.target_zoom ?? input.zoom,
    timestamp: input.timestamp,
  };
}

/** The wire form of a stored tile (docs/protocol.md 4.3), key order fixed. */
export function tileUpdateMessage(seq: number, input: TileInput): TileUpdate {
  return { type: 'tile_update', seq, x: input.x, y: input.y, brick: input.brick, timestamp: input.timestamp };
}
