// WebSocket framing done once per message, so the same bytes can be written to every socket.
// The header comes from ws's own Sender.frame: one implementation of RFC 6455 section 5.2.
import * as ws from 'ws';

interface FrameOptions {
  fin: boolean;
  opcode: number;
  mask: boolean;
  readOnly: boolean;
  rsv1: boolean;
}
// ws exports Sender at run time; its type definitions leave it out.
const { Sender } = ws as unknown as { Sender: { frame(data: Buffer, options: FrameOptions): Buffer[] } };

const OPCODE_TEXT = 0x1;
const OPCODE_BINARY = 0x2;

/** The header of an unmasked, final server frame carrying `payload`. */
export function frameHeader(payload: Buffer, binary: boolean): Buffer {
  const [header] = Sender.frame(payload, {
    fin: true,
    opcode: binary ? OPCODE_BINARY : OPCODE_TEXT,
    mask: false,
    readOnly: true,
    rsv1: false,
  });
  return header!;
}

/** A complete frame, header and payload in one buffer. */
export function frameMessage(payload: Buffer, binary: boolean): Buffer {
  return Buffer.concat([frameHeader(payload, binary), payload]);
}

/** Length of the frame header that precedes a payload of `payloadLength` bytes. */
export function frameHeaderLength(payloadLength: number): number {
  if (payloadLength < 126) return 2;
  return payloadLength < 65536 ? 4 : 10;
}

/**
 * The payload of a complete unmasked server frame built by `frameMessage` (a view, no copy):
 * the header is 2, 4 or 10 bytes by the 7-bit length field (RFC 6455 section 5.2).
 */
export function framePayload(frame: Buffer): Buffer {
  const length = frame[1]! & 0x7f;
  return frame.subarray(length < 126 ? 2 : length === 126 ? 4 : 10);
}
