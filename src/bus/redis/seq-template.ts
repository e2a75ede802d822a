// A camera or tile message encoded once with its seq left open. With several nodes the seq
// is assigned by Redis (a counter per camera), inside the script that also stores and
// publishes the state, so the accepting node cannot know it before encoding. It encodes
// the message once with a marker in place of the seq, keeps the bytes on either side of the seq, and
// whoever learns the seq (the Redis script, or this node when Redis is unreachable) fills
// it in. The filled frames are byte for byte what encodeFramedPair gives for that seq;
// src/bus/redis/scripts.ts does the same fill in Lua.
import type { CameraUpdate, TileUpdate } from '../../protocol/messages.js';
import { encodePayload, type FramedPair } from '../../protocol/encode.js';
import { frameMessage, framePayload } from '../../protocol/frame.js';

export type SequencedMessage = CameraUpdate | TileUpdate;

/** The payload bytes before and after the seq's value, per encoding (no WebSocket header). */
export interface SeqTemplate {
  jsonHead: Buffer;
  jsonTail: Buffer;
  msgpackHead: Buffer;
  msgpackTail: Buffer;
}

/** Encoded in place of the seq: the largest seq there can be, so its bytes are easy to find. */
const SEQ_MARKER = Number.MAX_SAFE_INTEGER;
const JSON_MARKER = Buffer.from(`"seq":${SEQ_MARKER}`);
const JSON_KEY_LENGTH = '"seq":'.length;
// fixstr "seq", then uint64 0x001fffffffffffff.
const MSGPACK_MARKER = Buffer.from([0xa3, 0x73, 0x65, 0x71, 0xcf, 0x00, 0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
const MSGPACK_KEY_LENGTH = 4;

export function seqTemplate(message: SequencedMessage): SeqTemplate {
  const open = { ...message, seq: SEQ_MARKER };
  const json = encodePayload(open, 'json');
  const msgpack = encodePayload(open, 'msgpack');
  // The key comes before any free text (a camera id cannot hold a quote or a byte >= 0x80,
  // and `brick` comes after it), so the first match is the seq.
  const j = json.indexOf(JSON_MARKER);
  const m = msgpack.indexOf(MSGPACK_MARKER);
  if (j < 0 || m < 0) throw new Error(`no seq in ${message.type}`);
  return {
    jsonHead: json.subarray(0, j + JSON_KEY_LENGTH),
    jsonTail: json.subarray(j + JSON_MARKER.length),
    msgpackHead: msgpack.subarray(0, m + MSGPACK_KEY_LENGTH),
    msgpackTail: msgpack.subarray(m + MSGPACK_MARKER.length),
  };
}

/** Both complete frames of the message with this seq. */
export function fillSeq(template: SeqTemplate, seq: number): FramedPair {
  return {
    json: frameMessage(Buffer.concat([template.jsonHead, Buffer.from(String(seq), 'latin1'), template.jsonTail]), false),
    msgpack: frameMessage(Buffer.concat([template.msgpackHead, msgpackUint(seq), template.msgpackTail]), true),
  };
}

/** A non-negative integer the way src/protocol/msgpack-writer.ts writes it: the shortest form. */
export function msgpackUint(value: number): Buffer {
  if (value < 0x80) return Buffer.from([value]);
  if (value < 0x100) return Buffer.from([0xcc, value]);
  const out = Buffer.allocUnsafe(value < 0x10000 ? 3 : value < 0x100000000 ? 5 : 9);
  if (value < 0x10000) {
    out[0] = 0xcd;
    out.writeUInt16BE(value, 1);
  } else if (value < 0x100000000) {
    out[0] = 0xce;
    out.writeUInt32BE(value, 1);
  } else {
    out[0] = 0xcf;
    out.writeBigUInt64BE(BigInt(value), 1);
  }
  return out;
}

/** The message a JSON frame carries (the frames in flight hold no decoded copy). */
export function messageOfFrame(jsonFrame: Buffer): SequencedMessage {
  return JSON.parse(framePayload(jsonFrame).toString('utf8')) as SequencedMessage;
}
