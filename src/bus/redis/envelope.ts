// The wire format between nodes: one binary message per update, published on Redis and kept
// there as a camera's latest state (and, for tiles, in the recent list and the history). It
// carries the update's three payloads (JSON, MessagePack, legacy JSON) with the place of the
// seq in each, so a receiving node turns it back into a ReadyFrame by framing those bytes
// once (src/protocol/frame.ts), never by encoding, and can still give it another seq.
//
//   offset  size  field
//   0       1     version (2)
//   1       1     kind: 0 camera, 1 tile
//   2       8     seq, unsigned big-endian integer
//   10      8     timestamp (ms since the epoch), float64 big-endian
//   18      4     origin: the producer connection on the accepting node (0: none), for that
//                 node only, so it does not echo an update to the connection that sent it
//   22      1     flags: 1 = already delivered on the accepting node (sent after an outage)
//   23      1+n   node id: length, then UTF-8 bytes (the accepting node)
//   ..      1+n   camera id: length, then bytes ('' for tiles)
//   ..      1+n   coordinate "x,y": length, then bytes (tiles; '' for cameras)
//   then three times, for the JSON, the MessagePack and the legacy JSON payload:
//   ..      4     payload length in bytes, unsigned big-endian
//   ..      4     where the seq starts in the payload (bytes from its start), unsigned big-endian
//   ..      1     length of the seq's value in bytes
//   ..      n     the payload (no WebSocket header)
//
// The part from the timestamp to the coordinate is built here (`envelopeMeta`); the version,
// kind, seq and payloads are put around it by the Redis script, which is where the seq is
// assigned (src/bus/redis/scripts.ts). Version 1 (whole frames, no legacy payload) is not
// read: all nodes of a deployment run the same version. The tests build the same bytes in
// JavaScript (test/helpers/envelope.ts).
import type { FrameKind, ReadyFrame } from '../../protocol/ready-frame.js';
import { framePieces, type SeqPayloads, type SeqPieces } from './seq-template.js';

/** The envelope version this node writes and reads. */
export const ENVELOPE_VERSION = 2;
/** Flag: the accepting node delivered it to its own clients already. */
export const DELIVERED_HERE = 1;

/** A decoded envelope; its payload pieces are views into the message, not copies. */
export interface Envelope extends EnvelopeMeta {
  kind: FrameKind;
  seq: number;
  /** Each format's payload, cut around its seq. */
  payloads: SeqPayloads;
}

/** A malformed envelope (decodeEnvelope), or an id too long to carry (envelopeMeta). */
export class EnvelopeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EnvelopeError';
  }
}

function shortString(value: string, what: string): Buffer {
  const bytes = Buffer.from(value, 'utf8');
  if (bytes.length > 255) throw new EnvelopeError(`${what} longer than 255 bytes`);
  return Buffer.concat([Buffer.from([bytes.length]), bytes]);
}

/** The middle of an envelope: what the accepting node knows before Redis assigns the seq. */
export interface EnvelopeMeta {
  /** ms since the epoch. */
  timestamp: number;
  origin: number;
  flags: number;
  node: string;
  camera: string;
  /** Tiles: "x,y"; '' for cameras. */
  coordinate: string;
}

/**
 * Timestamp, origin, flags, node id, camera id and coordinate: the middle of the envelope
 * (13 bytes, then three length-prefixed strings). Throws EnvelopeError on a string longer
 * than 255 bytes.
 */
export function envelopeMeta(meta: EnvelopeMeta): Buffer {
  const fixed = Buffer.allocUnsafe(13);
  fixed.writeDoubleBE(meta.timestamp, 0);
  fixed.writeUInt32BE(meta.origin, 8);
  fixed[12] = meta.flags;
  return Buffer.concat([fixed, shortString(meta.node, 'node id'), shortString(meta.camera, 'camera id'), shortString(meta.coordinate, 'coordinate')]);
}

/** Fixed part (23 bytes), three empty strings, three payload headers of 9 bytes. */
const MIN_LENGTH = 23 + 3 + 3 * 9;

/** Views into `bytes`, no copy. Throws EnvelopeError on anything malformed. */
export function decodeEnvelope(bytes: Buffer): Envelope {
  const fail = (why: string): never => {
    throw new EnvelopeError(`bad envelope (${bytes.length} bytes): ${why}`);
  };
  if (bytes.length < MIN_LENGTH) fail('too short');
  if (bytes[0] !== ENVELOPE_VERSION) fail(`version ${bytes[0]}`);
  const kind: FrameKind = bytes[1] === 0 ? 'camera' : bytes[1] === 1 ? 'tile' : fail(`kind ${bytes[1]}`);
  const seq = Number(bytes.readBigUInt64BE(2));
  const timestamp = bytes.readDoubleBE(10);
  const origin = bytes.readUInt32BE(18);
  const flags = bytes[22]!;
  let at = 23;
  const text = (): string => {
    const length = bytes[at]!;
    if (at + 1 + length > bytes.length) fail('truncated id');
    const value = bytes.toString('utf8', at + 1, at + 1 + length);
    at += 1 + length;
    return value;
  };
  const node = text();
  const camera = text();
  const coordinate = text();
  const payload = (format: string): SeqPieces => {
    if (at + 9 > bytes.length) fail(`truncated ${format} payload header`);
    const length = bytes.readUInt32BE(at);
    const seqAt = bytes.readUInt32BE(at + 4);
    const seqLength = bytes[at + 8]!;
    const start = at + 9;
    if (start + length > bytes.length) fail(`truncated ${format} payload`);
    if (seqLength === 0 || seqAt + seqLength > length) fail(`${format} seq outside its payload`);
    at = start + length;
    return {
      head: bytes.subarray(start, start + seqAt),
      seq: bytes.subarray(start + seqAt, start + seqAt + seqLength),
      tail: bytes.subarray(start + seqAt + seqLength, at),
    };
  };
  const payloads = { json: payload('json'), msgpack: payload('msgpack'), legacy: payload('legacy') };
  if (at !== bytes.length) fail(`${bytes.length - at} bytes after the payloads`);
  return { kind, seq, timestamp, origin, flags, node, camera, coordinate, payloads };
}

/**
 * The frame it carries, framed here once per update and node (never per client); it keeps
 * the seq template, so this node can renumber it. The origin counts only on the node that
 * accepted the update.
 */
export function frameOfEnvelope(envelope: Envelope, nodeId: string): ReadyFrame {
  return {
    kind: envelope.kind,
    camera: envelope.camera,
    seq: envelope.seq,
    timestamp: envelope.timestamp,
    ...framePieces(envelope.payloads, envelope.coordinate),
    origin: envelope.node === nodeId ? envelope.origin : 0,
  };
}
