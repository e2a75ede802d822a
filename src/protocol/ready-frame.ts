// A state ready to send: encoded once per encoding, framed once, and carried by reference
// from the store reader through the stream graph to every socket. With --redis the store
// worker also marks where the seq lies in each frame (a seq template), so that the Redis bus
// can give the update the seq Redis assigns by slicing bytes, never by encoding again.
import type { CameraInput, TileInput } from './messages.js';
import { cameraUpdateMessage, encodePayload, tileUpdateMessage } from './encode.js';
import { frameHeaderLength, writeFrame } from './frame.js';
import { legacyMessage, type FrameFormat } from './legacy.js';

/** `camera`: a camera state (conflated per camera); `tile`: a map tile (never conflated). */
export type FrameKind = 'camera' | 'tile';

/**
 * Where the seq lies in one complete frame, in bytes from the frame's first byte (header
 * included): the payload starts at `payloadAt` (the header's length), the seq's value fills
 * [`seqAt`, `seqEnd`) — decimal digits in JSON, a MessagePack unsigned integer (positive
 * fixint, uint 8/16/32/64) in MessagePack. The payload's bytes before `seqAt` and from
 * `seqEnd` on are the same for every seq.
 */
export interface SeqSpan {
  payloadAt: number;
  seqAt: number;
  seqEnd: number;
}

/**
 * What the Redis bus needs to give an update another seq without encoding it: where the seq
 * lies in each of its three frames, and for tiles the coordinate "x,y" (the key of Redis's
 * latest-tile-per-coordinate hash; '' for cameras).
 */
export interface SeqTemplate {
  json: SeqSpan;
  msgpack: SeqSpan;
  legacy: SeqSpan;
  coordinate: string;
}

/**
 * One update ready to write to any socket: its three complete WebSocket frames (views into a
 * shared buffer, never copied per client) and what the stream graph needs to route and conflate
 * it. `seq` orders states of one camera, or tiles (docs/protocol.md section 6).
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
  /**
   * Where the seq lies in the three frames: on frames the store worker encoded with
   * `seqTemplates` (a node with --redis) and on every frame the Redis bus builds; absent
   * otherwise (nothing on a single node needs it).
   */
  template?: SeqTemplate;
}

/**
 * One state of an EncodedBatch: its routing fields, and where each of its three frames lies in
 * the batch's buffer (`*At`: byte offset, `*Length`: bytes, header included). `template`
 * (offsets relative to each frame) only when the batch was encoded with `seqTemplates`.
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
  template?: SeqTemplate;
}

/** Frames of many states in one transferable buffer: one copy between threads, no per-row buffers. */
export interface EncodedBatch {
  bytes: ArrayBuffer;
  items: EncodedItem[];
}

/** How the store worker encodes (StoreWorkerData in src/store/tasks.ts carries it). */
export interface EncodeOptions {
  /**
   * Also mark each frame's seq and each tile's coordinate (EncodedItem.template), for the
   * Redis bus (--redis). Costs a scan of each payload's first bytes; default false.
   */
  seqTemplates?: boolean;
}

const JSON_SEQ_KEY = Buffer.from('"seq":', 'latin1');
// fixstr of length 3, "seq".
const MSGPACK_SEQ_KEY = Buffer.from([0xa3, 0x73, 0x65, 0x71]);
/** MessagePack unsigned integer forms by their first byte: total length in bytes. */
const MSGPACK_UINT_LENGTH: Readonly<Record<number, number>> = { 0xcc: 2, 0xcd: 3, 0xce: 5, 0xcf: 9 };
const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;

/**
 * [start, end) of the seq's value in a camera_update or tile_update payload, as the encoder
 * wrote it: the first `seq` key followed by an unsigned integer. Only `type` (a fixed word)
 * and, for cameras, `camera` come before it, and `brick` (free text) after it (encode.ts fixes
 * the key order). A camera id ([A-Za-z0-9_.:-]) holds no quote and no byte >= 0x80, so the
 * only earlier match is a camera named "seq" in MessagePack, which the next key follows, not
 * an integer. Throws Error when there is no such seq.
 */
function seqRange(payload: Buffer, format: FrameFormat): [number, number] {
  const binary = format === 'msgpack';
  const key = binary ? MSGPACK_SEQ_KEY : JSON_SEQ_KEY;
  for (let found = payload.indexOf(key); found >= 0; found = payload.indexOf(key, found + 1)) {
    const start = found + key.length;
    let end = start;
    if (binary) end += start >= payload.length ? 0 : payload[start]! < 0x80 ? 1 : (MSGPACK_UINT_LENGTH[payload[start]!] ?? 0);
    else while (end < payload.length && payload[end]! >= DIGIT_0 && payload[end]! <= DIGIT_9) end++;
    if (end > start && end <= payload.length) return [start, end];
  }
  throw new Error(`no seq in this ${format} payload`);
}

interface Encoded {
  item: Pick<EncodedItem, 'kind' | 'camera' | 'seq' | 'timestamp'>;
  coordinate: string;
  payloads: Record<FrameFormat, Buffer>;
}

const FORMATS: readonly FrameFormat[] = ['json', 'msgpack', 'legacy'];

/**
 * Frames of many states in one buffer, each state encoded once per format (JSON, MessagePack,
 * legacy JSON) and framed once (RFC 6455 section 5.2). Camera states first, then tiles, each in
 * the order given; `seq` is the row id. With `options.seqTemplates`, each item also says where
 * its seq lies in each frame and, for tiles, its coordinate (EncodedItem.template): what the
 * Redis bus needs, in the same buffer. The buffer is not from Node's shared pool, so it can be
 * transferred to another thread. Inputs must be checked (checkCamera, checkTile) first.
 */
export function encodeBatch(
  cameras: ReadonlyArray<{ seq: number; value: CameraInput }>,
  tiles: ReadonlyArray<{ seq: number; value: TileInput }>,
  options: EncodeOptions = {},
): EncodedBatch {
  const encoded: Encoded[] = [];
  for (const { seq, value } of cameras) {
    const message = cameraUpdateMessage(seq, value);
    encoded.push({
      item: { kind: 'camera', camera: value.camera, seq, timestamp: value.timestamp },
      coordinate: '',
      payloads: { json: encodePayload(message, 'json'), msgpack: encodePayload(message, 'msgpack'), legacy: encodePayload(legacyMessage(message), 'json') },
    });
  }
  for (const { seq, value } of tiles) {
    const message = tileUpdateMessage(seq, value);
    encoded.push({
      item: { kind: 'tile', camera: '', seq, timestamp: value.timestamp },
      coordinate: `${value.x},${value.y}`,
      payloads: { json: encodePayload(message, 'json'), msgpack: encodePayload(message, 'msgpack'), legacy: encodePayload(legacyMessage(message), 'json') },
    });
  }
  let total = 0;
  for (const { payloads } of encoded) {
    for (const format of FORMATS) total += frameHeaderLength(payloads[format].length) + payloads[format].length;
  }
  // Not from Buffer's shared pool: this memory is transferred to another thread.
  const target = Buffer.allocUnsafeSlow(total);
  const items: EncodedItem[] = [];
  let at = 0;
  for (const { item, coordinate, payloads } of encoded) {
    const place = {} as Record<FrameFormat, { at: number; length: number; span: SeqSpan | null }>;
    for (const format of FORMATS) {
      const payload = payloads[format];
      const length = writeFrame(target, at, [payload], format === 'msgpack');
      let span: SeqSpan | null = null;
      if (options.seqTemplates) {
        const payloadAt = length - payload.length;
        const [start, end] = seqRange(payload, format);
        span = { payloadAt, seqAt: payloadAt + start, seqEnd: payloadAt + end };
      }
      place[format] = { at, length, span };
      at += length;
    }
    items.push({
      ...item,
      jsonAt: place.json.at,
      jsonLength: place.json.length,
      msgpackAt: place.msgpack.at,
      msgpackLength: place.msgpack.length,
      legacyAt: place.legacy.at,
      legacyLength: place.legacy.length,
      ...(options.seqTemplates ? { template: { json: place.json.span!, msgpack: place.msgpack.span!, legacy: place.legacy.span!, coordinate } } : {}),
    });
  }
  return { bytes: target.buffer as ArrayBuffer, items };
}

/**
 * The batch's states as ReadyFrames, in batch order: views into the batch's buffer, no copy;
 * each keeps its item's seq template when the batch has them.
 * `originOf` gives each its producer connection id (0: none).
 */
export function framesOf(batch: EncodedBatch, originOf: (item: EncodedItem) => number): ReadyFrame[] {
  return batch.items.map((item) => {
    const frame: ReadyFrame = {
      kind: item.kind,
      camera: item.camera,
      seq: item.seq,
      timestamp: item.timestamp,
      json: Buffer.from(batch.bytes, item.jsonAt, item.jsonLength),
      msgpack: Buffer.from(batch.bytes, item.msgpackAt, item.msgpackLength),
      legacy: Buffer.from(batch.bytes, item.legacyAt, item.legacyLength),
      origin: originOf(item),
    };
    if (item.template !== undefined) frame.template = item.template;
    return frame;
  });
}
