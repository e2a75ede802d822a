// The protocol decoder at its boundary (docs/protocol.md section 5), under fast-check: whatever
// bytes, JSON or MessagePack arrive, it never throws and answers either a valid message or
// one of the documented error codes.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { encode } from '@msgpack/msgpack';
import { decodeClientMessage } from '../../src/protocol/decode.js';
import { ERROR_CODES, CAMERA_ID_PATTERN } from '../../src/protocol/messages.js';

const TYPES = ['heartbeat', 'subscribe', 'camera_update', 'tile_update', 'hello', 'ack', '', 'CAMERA_UPDATE'];

/** Values of every shape a client could put in a field. */
const anyField = fc.oneof(
  fc.double(),
  fc.integer(),
  fc.constantFrom(0, -0, 1e308, -1e308, Number.MAX_SAFE_INTEGER, 2 ** 53 + 2, 2 ** 64),
  fc.string(),
  fc.constantFrom('main', 'a:b', '*', 'bad id', ''),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.oneof(fc.string(), fc.integer()), { maxLength: 4 }),
  fc.dictionary(fc.string(), fc.integer(), { maxKeys: 3 }),
);

const messageLike = fc.record(
  {
    type: fc.constantFrom(...TYPES),
    camera: anyField,
    cameras: fc.oneof(anyField, fc.array(fc.constantFrom('main', '*', 'x y', 'cam-1', ''), { maxLength: 5 })),
    max_hz: anyField,
    x: anyField,
    y: anyField,
    zoom: anyField,
    target_x: anyField,
    target_y: anyField,
    target_zoom: anyField,
    timestamp: anyField,
    brick: anyField,
    seq: anyField,
  },
  { requiredKeys: [] },
);

function checkAnswer(data: Buffer, isBinary: boolean, encoding: 'json' | 'msgpack'): void {
  let answer: ReturnType<typeof decodeClientMessage>;
  expect(() => (answer = decodeClientMessage(data, isBinary, encoding, 1_795_000_000_000))).not.toThrow();
  if (!answer!.ok) {
    expect(ERROR_CODES).toContain(answer!.code);
    expect(answer!.message.length).toBeGreaterThan(0);
    expect(answer!.message.length).toBeLessThan(200);
    return;
  }
  // A message that passes is one the server can act on without further checks.
  const message = answer!.message;
  if (message.type === 'camera_update') {
    const v = message.value;
    expect(CAMERA_ID_PATTERN.test(v.camera)).toBe(true);
    for (const n of [v.x, v.y, v.zoom]) expect(Number.isFinite(n)).toBe(true);
    expect(v.zoom).toBeGreaterThan(0);
    if (v.target_zoom !== null) expect(v.target_zoom).toBeGreaterThan(0);
    expect(Number.isSafeInteger(v.timestamp)).toBe(true);
  } else if (message.type === 'tile_update') {
    expect(Number.isSafeInteger(message.value.x) && Number.isSafeInteger(message.value.y)).toBe(true);
    expect(message.value.brick.length).toBeGreaterThan(0);
  } else if (message.type === 'subscribe') {
    for (const camera of message.cameras) expect(camera === '*' || CAMERA_ID_PATTERN.test(camera)).toBe(true);
  }
}

describe('decodeClientMessage under random input', () => {
  it('never throws on random bytes, in either session, as text or binary', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), fc.boolean(), fc.constantFrom('json' as const, 'msgpack' as const), (bytes, binary, encoding) => {
        checkAnswer(Buffer.from(bytes), binary, encoding);
      }),
      { numRuns: 3000 },
    );
  });

  it('never throws on random JSON values, and answers message-like objects consistently', () => {
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), messageLike), (value) => {
        checkAnswer(Buffer.from(JSON.stringify(value) ?? 'null'), false, 'json');
      }),
      { numRuns: 3000 },
    );
  });

  it('never throws on random MessagePack values, including NaN, infinities and huge integers', () => {
    fc.assert(
      fc.property(fc.oneof(messageLike, fc.anything({ withBigInt: false, withMap: false, withSet: false, withTypedArray: true })), (value) => {
        let bytes: Uint8Array;
        try {
          bytes = encode(value, { ignoreUndefined: true });
        } catch {
          return; // not representable in MessagePack: nothing to send
        }
        checkAnswer(Buffer.from(bytes), true, 'msgpack');
      }),
      { numRuns: 3000 },
    );
  });

  it('never throws on truncated or corrupted valid messages', () => {
    const valid = Buffer.from(encode({ type: 'camera_update', camera: 'main', x: 1.5, y: -2, zoom: 1, timestamp: 1_795_000_000_000 }));
    fc.assert(
      fc.property(fc.nat(valid.length), fc.array(fc.tuple(fc.nat(valid.length - 1), fc.nat(255)), { maxLength: 4 }), (cut, flips) => {
        const bytes = Buffer.from(valid.subarray(0, cut));
        for (const [at, value] of flips) if (at < bytes.length) bytes[at] = value;
        checkAnswer(bytes, true, 'msgpack');
      }),
      { numRuns: 3000 },
    );
  });
});
