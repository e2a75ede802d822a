// An envelope between nodes built in JavaScript, byte for byte as the Redis publish script
// builds it (src/bus/redis/envelope.ts describes the layout), for tests that feed a node
// or the decoder without a Redis.
import { ENVELOPE_VERSION, envelopeMeta, type EnvelopeMeta } from '../../src/bus/redis/envelope.js';
import type { FrameKind, ReadyFrame } from '../../src/protocol/ready-frame.js';

/**
 * The envelope's bytes: version, kind (0 camera, 1 tile), seq, meta, then each format's
 * payload with the place of its seq, cut from `frame`'s frames by their seq template.
 */
export function encodeEnvelope(envelope: Omit<EnvelopeMeta, 'coordinate'> & { kind: FrameKind; seq: number }, frame: ReadyFrame): Buffer {
  const template = frame.template;
  if (template === undefined) throw new Error('the frame needs a seq template (encodeBatch with seqTemplates)');
  const head = Buffer.allocUnsafe(10);
  head[0] = ENVELOPE_VERSION;
  head[1] = envelope.kind === 'camera' ? 0 : 1;
  head.writeBigUInt64BE(BigInt(envelope.seq), 2);
  const sections = (['json', 'msgpack', 'legacy'] as const).map((format) => {
    const span = template[format];
    const payload = frame[format].subarray(span.payloadAt);
    const fields = Buffer.allocUnsafe(9);
    fields.writeUInt32BE(payload.length, 0);
    fields.writeUInt32BE(span.seqAt - span.payloadAt, 4);
    fields[8] = span.seqEnd - span.seqAt;
    return Buffer.concat([fields, payload]);
  });
  return Buffer.concat([head, envelopeMeta({ ...envelope, coordinate: template.coordinate }), ...sections]);
}
