// Frames for tests of the Redis bus, made the way a node with --redis makes them: by the
// store worker's encoder with seq templates (src/protocol/ready-frame.ts encodeBatch); and
// the message a JSON frame carries, read back for assertions.
import type { CameraUpdate, TileUpdate } from '../../src/protocol/messages.js';
import { encodeBatch, framesOf, type ReadyFrame } from '../../src/protocol/ready-frame.js';

/** The frame the store worker gives for this message (its seq as the row id), seq template included. */
export function templatedFrame(message: CameraUpdate | TileUpdate, origin = 0): ReadyFrame {
  const batch =
    message.type === 'camera_update'
      ? encodeBatch([{ seq: message.seq, value: { ...message } }], [], { seqTemplates: true })
      : encodeBatch([], [{ seq: message.seq, value: { x: message.x, y: message.y, brick: message.brick, timestamp: message.timestamp } }], { seqTemplates: true });
  return framesOf(batch, () => origin)[0]!;
}

/** The message a complete unmasked JSON frame carries (its header is 2, 4 or 10 bytes, RFC 6455 section 5.2). */
export function messageOfFrame<M = CameraUpdate | TileUpdate>(frame: Buffer): M {
  const length = frame[1]! & 0x7f;
  return JSON.parse(frame.subarray(length < 126 ? 2 : length === 126 ? 4 : 10).toString('utf8')) as M;
}
