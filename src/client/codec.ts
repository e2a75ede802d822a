// Frames to messages and back. Text frames are JSON, binary frames MessagePack, whatever the
// session: the frame type says which, so the decoder never guesses.
import type { ServerMessage } from '../protocol/messages.js';

/** What the client needs of a MessagePack library (msgpackr, in Node or its browser build). */
export interface MsgpackCodec {
  pack(value: unknown): Uint8Array;
  unpack(data: Uint8Array): unknown;
}

/** The parts of the msgpackr module (ESM import, or the browser build's global) used here. */
export interface MsgpackrLike {
  Packr: new (options: Record<string, unknown>) => { pack(value: unknown): Uint8Array };
  Unpackr: new (options: Record<string, unknown>) => { unpack(data: Uint8Array): unknown };
}

/**
 * A codec over msgpackr with plain maps (docs/protocol.md section 2). Integers above 2^32 (the
 * millisecond timestamps) come out as numbers, not BigInts.
 */
export function msgpackrCodec(msgpackr: MsgpackrLike): MsgpackCodec {
  const packr = new msgpackr.Packr({ useRecords: false });
  const unpackr = new msgpackr.Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: 'number' });
  return { pack: (value) => packr.pack(value), unpack: (data) => unpackr.unpack(data) };
}

/**
 * A frame that is not a server message: binary data without a MessagePack codec, data of an
 * unexpected type, or a value that is not an object with a string `type`.
 */
export class DecodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DecodeError';
  }
}

function isMessage(value: unknown): value is ServerMessage {
  return typeof value === 'object' && value !== null && typeof (value as { type?: unknown }).type === 'string';
}

/**
 * The message of one frame. `data` as a WebSocket gives it: a string (a JSON text frame), an
 * ArrayBuffer or a Uint8Array (Node's Buffer; a MessagePack binary frame). Throws SyntaxError
 * for text that is not JSON, the codec's error for bytes that are not MessagePack, and
 * DecodeError otherwise.
 */
export function decodeFrame(data: unknown, msgpack: MsgpackCodec | null): ServerMessage {
  let value: unknown;
  if (typeof data === 'string') {
    value = JSON.parse(data);
  } else {
    const bytes = data instanceof Uint8Array ? data : data instanceof ArrayBuffer ? new Uint8Array(data) : null;
    if (bytes === null) throw new DecodeError('unexpected frame data (set binaryType to "arraybuffer")');
    if (msgpack === null) throw new DecodeError('binary frame but no MessagePack codec');
    value = msgpack.unpack(bytes);
  }
  if (!isMessage(value)) throw new DecodeError('a message is an object with a string "type"');
  return value;
}
