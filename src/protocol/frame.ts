// WebSocket framing done once per message, so the same bytes can be written to every socket.
// The one place wirecam computes a frame header (RFC 6455 section 5.2): the store worker's
// batches, the frames a node builds from what it receives over Redis, and the control
// messages all go through `writeFrameHeader`. The Redis scripts write payloads only.

const OPCODE_TEXT = 0x1;
const OPCODE_BINARY = 0x2;
/** FIN set, RSV1-3 clear (no extension), then the opcode. */
const FIN = 0x80;

/**
 * Length in bytes of the header of an unmasked server frame carrying `payloadLength` bytes:
 * 2, 4 (16-bit extended length, from 126 bytes) or 10 (64-bit, from 65,536 bytes), by the
 * 7-bit length field of RFC 6455 section 5.2.
 */
export function frameHeaderLength(payloadLength: number): number {
  if (payloadLength < 126) return 2;
  return payloadLength < 65536 ? 4 : 10;
}

/**
 * Writes the header of an unmasked, final server frame (text, or binary when `binary`) for a
 * payload of `payloadLength` bytes into `target` at byte offset `at`; returns its length in
 * bytes (frameHeaderLength). RFC 6455 section 5.2: FIN, no RSV bits, opcode; mask bit clear
 * (a server never masks, section 5.1); the length in 7 bits, or 126 and 16 bits, or 127 and
 * 64 bits, big-endian. Throws RangeError when `target` has no room for it.
 */
export function writeFrameHeader(target: Buffer, at: number, payloadLength: number, binary: boolean): number {
  const length = frameHeaderLength(payloadLength);
  if (at + length > target.length) throw new RangeError(`no room for a ${length}-byte frame header at ${at} of ${target.length} bytes`);
  target[at] = FIN | (binary ? OPCODE_BINARY : OPCODE_TEXT);
  if (length === 2) target[at + 1] = payloadLength;
  else if (length === 4) {
    target[at + 1] = 126;
    target.writeUInt16BE(payloadLength, at + 2);
  } else {
    target[at + 1] = 127;
    target.writeBigUInt64BE(BigInt(payloadLength), at + 2);
  }
  return length;
}

/** The header (2, 4 or 10 bytes) of an unmasked, final server frame carrying `payload`. */
export function frameHeader(payload: Buffer, binary: boolean): Buffer {
  const header = Buffer.allocUnsafe(frameHeaderLength(payload.length));
  writeFrameHeader(header, 0, payload.length, binary);
  return header;
}

/**
 * Writes one complete frame into `target` at byte offset `at`: the header, then `parts` one
 * after the other as its payload (no copy of them joined first). Returns the frame's length
 * in bytes. Throws RangeError when `target` has no room for it.
 */
export function writeFrame(target: Buffer, at: number, parts: readonly Buffer[], binary: boolean): number {
  let payloadLength = 0;
  for (const part of parts) payloadLength += part.length;
  let end = at + writeFrameHeader(target, at, payloadLength, binary);
  if (end + payloadLength > target.length) throw new RangeError(`no room for a ${payloadLength}-byte payload at ${end} of ${target.length} bytes`);
  for (const part of parts) end += part.copy(target, end);
  return end - at;
}

/** A complete frame, header and payload in one new buffer. */
export function frameMessage(payload: Buffer, binary: boolean): Buffer {
  const frame = Buffer.allocUnsafe(frameHeaderLength(payload.length) + payload.length);
  writeFrame(frame, 0, [payload], binary);
  return frame;
}
