// An envelope between nodes built in JavaScript, byte for byte as the Redis publish script
// builds it (src/bus/redis/envelope.ts describes the layout), for tests that feed a node
// or the decoder without a Redis.
import { ENVELOPE_VERSION, envelopeMeta, type Envelope } from '../../src/bus/redis/envelope.js';

/** The envelope's bytes: version, kind (0 camera, 1 tile), seq, meta, JSON length, both frames. */
export function encodeEnvelope(envelope: Envelope): Buffer {
  const head = Buffer.allocUnsafe(10);
  head[0] = ENVELOPE_VERSION;
  head[1] = envelope.kind === 'camera' ? 0 : 1;
  head.writeBigUInt64BE(BigInt(envelope.seq), 2);
  const jsonLength = Buffer.allocUnsafe(4);
  jsonLength.writeUInt32BE(envelope.json.length);
  return Buffer.concat([
    head,
    envelopeMeta(envelope),
    jsonLength,
    envelope.json,
    envelope.msgpack,
  ]);
}

