// Giving an update another seq without encoding it. With several nodes the seq is assigned
// by Redis (a counter per camera), inside the script that also stores and publishes the
// state, so the accepting node cannot know it when the store worker encodes the update. The
// worker therefore marks where the seq lies in each of the three frames (ReadyFrame.template,
// src/protocol/ready-frame.ts); whoever learns the seq (the Redis script, or this node when
// Redis is unreachable or a tile must be renumbered) writes it between the bytes before and
// after it. The results are byte for byte the frames the encoder gives for that seq;
// src/bus/redis/scripts.ts writes the seq into the payloads the same way in Lua.
import type { FrameFormat } from '../../protocol/legacy.js';
import { frameHeaderLength, writeFrame } from '../../protocol/frame.js';
import type { ReadyFrame, SeqSpan, SeqTemplate } from '../../protocol/ready-frame.js';

/** A payload (no WebSocket header) in three pieces: the bytes before the seq, the seq's value, the bytes after. */
export interface SeqPieces {
  head: Buffer;
  seq: Buffer;
  tail: Buffer;
}

/** One update's payloads in pieces, per frame format. */
export type SeqPayloads = Record<FrameFormat, SeqPieces>;

/** The payload bytes before and after the seq, per format: the publish script's arguments (scripts.ts). */
export interface SeqHeadsAndTails {
  jsonHead: Buffer;
  jsonTail: Buffer;
  msgpackHead: Buffer;
  msgpackTail: Buffer;
  legacyHead: Buffer;
  legacyTail: Buffer;
}

const FORMATS: readonly FrameFormat[] = ['json', 'msgpack', 'legacy'];

/** The template of a frame that must have one; throws Error when the store worker did not mark it. */
function templateOf(frame: ReadyFrame): SeqTemplate {
  if (frame.template === undefined) {
    throw new Error(`${frame.kind} ${frame.camera}#${frame.seq} has no seq template (the store workers must encode with seqTemplates under --redis)`);
  }
  return frame.template;
}

/** The pieces of one frame's payload around its seq: views into the frame, no copy. */
function piecesOf(frame: Buffer, span: SeqSpan): SeqPieces {
  return { head: frame.subarray(span.payloadAt, span.seqAt), seq: frame.subarray(span.seqAt, span.seqEnd), tail: frame.subarray(span.seqEnd) };
}

/** The payload bytes before and after the seq in each of the frame's formats (views, no copy). */
export function seqHeadsAndTails(frame: ReadyFrame): SeqHeadsAndTails {
  const template = templateOf(frame);
  const json = piecesOf(frame.json, template.json);
  const msgpack = piecesOf(frame.msgpack, template.msgpack);
  const legacy = piecesOf(frame.legacy, template.legacy);
  return {
    jsonHead: json.head,
    jsonTail: json.tail,
    msgpackHead: msgpack.head,
    msgpackTail: msgpack.tail,
    legacyHead: legacy.head,
    legacyTail: legacy.tail,
  };
}

/**
 * The three complete frames of payloads given in pieces, in one new buffer (one allocation
 * per update, never per client), with the template that marks their seqs; `coordinate`: the
 * tile's "x,y" ('' for cameras). The headers come from src/protocol/frame.ts.
 */
export function framePieces(payloads: SeqPayloads, coordinate: string): Pick<ReadyFrame, 'json' | 'msgpack' | 'legacy'> & { template: SeqTemplate } {
  let total = 0;
  for (const format of FORMATS) {
    const { head, seq, tail } = payloads[format];
    const length = head.length + seq.length + tail.length;
    total += frameHeaderLength(length) + length;
  }
  const bytes = Buffer.allocUnsafe(total);
  const frames = {} as Record<FrameFormat, Buffer>;
  const spans = {} as Record<FrameFormat, SeqSpan>;
  let at = 0;
  for (const format of FORMATS) {
    const { head, seq, tail } = payloads[format];
    const length = writeFrame(bytes, at, [head, seq, tail], format === 'msgpack');
    const payloadAt = length - (head.length + seq.length + tail.length);
    spans[format] = { payloadAt, seqAt: payloadAt + head.length, seqEnd: payloadAt + head.length + seq.length };
    frames[format] = bytes.subarray(at, at + length);
    at += length;
  }
  return { ...frames, template: { json: spans.json, msgpack: spans.msgpack, legacy: spans.legacy, coordinate } };
}

/**
 * The frame with `seq` written into its three frames (and its `seq` and `origin` set):
 * byte for byte what the encoder gives for that seq, made by slicing the frame's own bytes.
 * Throws Error when the frame has no seq template.
 */
export function withSeq(frame: ReadyFrame, seq: number, origin: number = frame.origin): ReadyFrame {
  const template = templateOf(frame);
  const digits = Buffer.from(String(seq), 'latin1');
  const at = (format: FrameFormat, value: Buffer): SeqPieces => ({ ...piecesOf(frame[format], template[format]), seq: value });
  const framed = framePieces({ json: at('json', digits), msgpack: at('msgpack', msgpackUint(seq)), legacy: at('legacy', digits) }, template.coordinate);
  return { ...frame, ...framed, seq, origin };
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
