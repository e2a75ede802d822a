// The wire format between nodes: one binary message per update, published on Redis and kept
// there as a camera's latest state. It carries both finished frames, so a receiving node
// turns it back into a ReadyFrame by taking views into it, never by encoding.
//
//   offset  size  field
//   0       1     version (1)
//   1       1     kind: 0 camera, 1 tile
//   2       8     seq, unsigned big-endian integer
//   10      8     timestamp (ms since the epoch), float64 big-endian
//   18      4     origin: the producer connection on the accepting node (0: none), for that
//                 node only, so it does not echo an update to the connection that sent it
//   22      1     flags: 1 = already delivered on the accepting node (sent after an outage)
//   23      1+n   node id: length, then UTF-8 bytes (the accepting node)
//   ..      1+n   camera id: length, then bytes ('' for tiles)
//   ..      4     length of the JSON frame, unsigned big-endian
//   ..      n     the JSON frame (WebSocket header included)
//   ..      rest  the MessagePack frame (WebSocket header included)
//
// The part from the timestamp to the camera id is built here (`envelopeMeta`); the version,
// kind, seq and frames are put around it by the Redis script, which is where the seq is
// assigned (src/bus/redis/scripts.ts). The tests build the same bytes in JavaScript
// (test/helpers/envelope.ts).
import { withLegacy, type FrameKind, type ReadyFrame } from '../../protocol/ready-frame.js';

export const ENVELOPE_VERSION = 1;
/** Flag: the accepting node delivered it to its own clients already. */
export const DELIVERED_HERE = 1;

export interface Envelope {
  kind: FrameKind;
  seq: number;
  timestamp: number;
  origin: number;
  flags: number;
  node: string;
  camera: string;
  json: Buffer;
  msgpack: Buffer;
}

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
  timestamp: number;
  origin: number;
  flags: number;
  node: string;
  camera: string;
}

/** Timestamp, origin, flags, node id and camera id: the middle of the envelope. */
export function envelopeMeta(meta: EnvelopeMeta): Buffer {
  const fixed = Buffer.allocUnsafe(13);
  fixed.writeDoubleBE(meta.timestamp, 0);
  fixed.writeUInt32BE(meta.origin, 8);
  fixed[12] = meta.flags;
  return Buffer.concat([fixed, shortString(meta.node, 'node id'), shortString(meta.camera, 'camera id')]);
}

/** Views into `bytes`, no copy. Throws EnvelopeError on anything malformed. */
export function decodeEnvelope(bytes: Buffer): Envelope {
  const fail = (why: string): never => {
    throw new EnvelopeError(`bad envelope (${bytes.length} bytes): ${why}`);
  };
  if (bytes.length < 25) fail('too short');
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
  if (at + 4 > bytes.length) fail('truncated frame length');
  const jsonLength = bytes.readUInt32BE(at);
  at += 4;
  if (at + jsonLength >= bytes.length) fail('truncated frames');
  return {
    kind,
    seq,
    timestamp,
    origin,
    flags,
    node,
    camera,
    json: bytes.subarray(at, at + jsonLength),
    msgpack: bytes.subarray(at + jsonLength),
  };
}

/**
 * The frame it carries; the origin counts only on the node that accepted the update. The
 * legacy frame is derived here from the JSON one, once per update and node.
 */
export function frameOfEnvelope(envelope: Envelope, nodeId: string): ReadyFrame {
  return withLegacy({
    kind: envelope.kind,
    camera: envelope.camera,
    seq: envelope.seq,
    timestamp: envelope.timestamp,
    json: envelope.json,
    msgpack: envelope.msgpack,
    origin: envelope.node === nodeId ? envelope.origin : 0,
  });
}
