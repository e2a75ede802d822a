// A state ready to send: encoded once per encoding, framed once, and carried by reference
// from the store reader through the stream graph to every socket.
import type { CameraInput, TileInput } from './messages.js';
import { cameraUpdateMessage, encodePayload, tileUpdateMessage } from './encode.js';
import { frameHeader, frameHeaderLength, frameMessage } from './frame.js';
import { legacyMessage, legacyPayloadOfJsonFrame } from './legacy.js';

/** `camera`: a camera state (conflated per camera); `tile`: a map tile (never conflated). */
export type FrameKind = 'camera' | 'tile';

/**
 * One update ready to write to any socket: its three complete WebSocket frames (views into a
 * shared buffer, never copied per client) and what the stream graph needs to route and conflate
 * it. `seq` orders states of one camera, or tiles (PROTOCOL.md section 6).
 */
export interface ReadyFrame {
  kind: FrameKind;
  /** The camera id; '' for tiles, which belong to the map. */
  camera: string;
  seq: number;
  /** When the producer recorded it (ms since the epoch). */
  timestamp: number;
  /** Complete WebSocket frames, header included. */
  json: Buffer;
  msgpack: Buffer;
  /** The frame for legacy JSON mode: the JSON message in camera_sync.rs's units (protocol/legacy.ts). */
  legacy: Buffer;
  /** The producer connection it came from (not echoed back to it), or 0. */
  origin: number;
}

/**
 * One state of an EncodedBatch: its routing fields, and where each of its three frames lies in
 * the batch's buffer (`*At`: byte offset, `*Length`: bytes, header included).
 */
export interface EncodedItem {
  kind: FrameKind;
  camera: string;
  seq: number;
  timestamp: number;
  jsonAt: number;
  jsonLength: number;
  msgpackAt: number;
  msgpackLength: number;
  legacyAt: number;
  legacyLength: number;
}

/** Frames of many states in one transferable buffer: one copy between threads, no per-row buffers. */
export interface EncodedBatch {
  bytes: ArrayBuffer;
  items: EncodedItem[];
}

function framedInto(target: Buffer, at: number, payload: Buffer, binary: boolean): number {
  const header = frameHeader(payload, binary);
  header.copy(target, at);
  payload.copy(target, at + header.length);
  return header.length + payload.length;
}

/**
 * Frames of many states in one buffer, each state encoded once per format (JSON, MessagePack,
 * legacy JSON) and framed once (RFC 6455 section 5.2). Camera states first, then tiles, each in
 * the order given; `seq` is the row id. The buffer is not from Node's shared pool, so it can be
 * transferred to another thread. Inputs must be checked (checkCamera, checkTile) first.
 */
export function encodeBatch(
  cameras: ReadonlyArray<{ seq: number; value: CameraInput }>,
  tiles: ReadonlyArray<{ seq: number; value: TileInput }>,
): EncodedBatch {
  const payloads: Array<{
    item: Omit<EncodedItem, 'jsonAt' | 'msgpackAt' | 'jsonLength' | 'msgpackLength' | 'legacyAt' | 'legacyLength'>;
    json: Buffer;
    msgpack: Buffer;
    legacy: Buffer;
  }> = [];
  for (const { seq, value } of cameras) {
    const message = cameraUpdateMessage(seq, value);
    payloads.push({
      item: { kind: 'camera', camera: value.camera, seq, timestamp: value.timestamp },
      json: encodePayload(message, 'json'),
      msgpack: encodePayload(message, 'msgpack'),
      legacy: encodePayload(legacyMessage(message), 'json'),
    });
  }
  for (const { seq, value } of tiles) {
    const message = tileUpdateMessage(seq, value);
    payloads.push({
      item: { kind: 'tile', camera: '', seq, timestamp: value.timestamp },
      json: encodePayload(message, 'json'),
      msgpack: encodePayload(message, 'msgpack'),
      legacy: encodePayload(legacyMessage(message), 'json'),
    });
  }
  let total = 0;
  for (const p of payloads) {
    total += frameHeaderLength(p.json.length) + p.json.length + frameHeaderLength(p.msgpack.length) + p.msgpack.length;
    total += frameHeaderLength(p.legacy.length) + p.legacy.length;
  }
  // Not from Buffer's shared pool: this memory is transferred to another thread.
  const target = Buffer.allocUnsafeSlow(total);
  const items: EncodedItem[] = [];
  let at = 0;
  for (const p of payloads) {
    const jsonAt = at;
    const jsonLength = framedInto(target, at, p.json, false);
    at += jsonLength;
    const msgpackAt = at;
    const msgpackLength = framedInto(target, at, p.msgpack, true);
    at += msgpackLength;
    const legacyAt = at;
    const legacyLength = framedInto(target, at, p.legacy, false);
    at += legacyLength;
    items.push({ ...p.item, jsonAt, jsonLength, msgpackAt, msgpackLength, legacyAt, legacyLength });
  }
  return { bytes: target.buffer as ArrayBuffer, items };
}

/**
 * The batch's states as ReadyFrames, in batch order: views into the batch's buffer, no copy.
 * `originOf` gives each its producer connection id (0: none).
 */
export function framesOf(batch: EncodedBatch, originOf: (item: EncodedItem) => number): ReadyFrame[] {
  return batch.items.map((item) => ({
    kind: item.kind,
    camera: item.camera,
    seq: item.seq,
    timestamp: item.timestamp,
    json: Buffer.from(batch.bytes, item.jsonAt, item.jsonLength),
    msgpack: Buffer.from(batch.bytes, item.msgpackAt, item.msgpackLength),
    legacy: Buffer.from(batch.bytes, item.legacyAt, item.legacyLength),
    origin: originOf(item),
  }));
}

/**
 * The frame with its legacy frame derived from its JSON frame, for frames whose JSON was
 * built or re-sequenced outside the store worker (the Redis bus fills in seqs): once per
 * update, never per client.
 */
export function withLegacy<F extends ReadyFrame | Omit<ReadyFrame, 'legacy'>>(frame: F): F & { legacy: Buffer } {
  return { ...frame, legacy: frameMessage(legacyPayloadOfJsonFrame(frame.json), false) };
}
