// Client input (docs/protocol.md section 5): every malformed message is a documented error code,
// never an exception, and valid messages get their documented defaults.
import { describe, expect, it } from 'vitest';
import { encode } from '@msgpack/msgpack';
import { decodeClientMessage, type Decoded } from '../../src/protocol/decode.js';
import { CAMERA_ID_PATTERN, ERROR_CODES, type Encoding } from '../../src/protocol/messages.js';

const NOW = 1_795_000_000_000;

function asJson(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value), 'utf8');
}

function asMsgpack(value: unknown): Buffer {
  return Buffer.from(encode(value));
}

/** Decodes `value` the way a client of the given encoding would send it. */
function send(value: unknown, encoding: Encoding): Decoded {
  return encoding === 'json'
    ? decodeClientMessage(asJson(value), false, 'json', NOW)
    : decodeClientMessage(asMsgpack(value), true, 'msgpack', NOW);
}

function expectError(result: Decoded, code: string): void {
  expect(result).toMatchObject({ ok: false, code });
  if (!result.ok) expect(result.message).toEqual(expect.any(String));
}

const CAMERA = { type: 'camera_update', x: 1, y: 2, zoom: 1 };
const TILE = { type: 'tile_update', x: 1, y: 2, brick: 'grass' };

// A MessagePack timestamp extension (type -1, 32-bit seconds) holding 0.
const TIMESTAMP_EXT = [0xd6, 0xff, 0x00, 0x00, 0x00, 0x00];
const strKey = (key: string) => [0xa0 | key.length, ...Buffer.from(key)];
/** A fixmap of `entries`, where each value is given as raw MessagePack bytes. */
function rawMap(entries: Array<[string, number[]]>): Buffer {
  return Buffer.from([0x80 | entries.length, ...entries.flatMap(([key, value]) => [...strKey(key), ...value])]);
}
const f64 = (n: number) => {
  const b = Buffer.alloc(9);
  b[0] = 0xcb;
  b.writeDoubleBE(n, 1);
  return [...b];
};
const str = (s: string) => strKey(s);

describe('frames that are not a message of the session encoding', () => {
  it.each([
    ['plain text', 'not json'],
    ['truncated JSON', '{"type":"heartbeat"'],
    ['an empty frame', ''],
    ['two objects', '{"type":"heartbeat"}{"type":"heartbeat"}'],
    ['single quotes', "{'type':'heartbeat'}"],
  ])('rejects %s on a JSON session as bad_message', (_name, text) => {
    expectError(decodeClientMessage(Buffer.from(text), false, 'json', NOW), 'bad_message');
  });

  it.each([
    ['the never-used byte 0xc1', [0xc1]],
    ['a truncated map', [0x82, 0xa4, 0x74, 0x79]],
    ['an empty frame', []],
    ['trailing bytes after a value', [...asMsgpack({ type: 'heartbeat' }), 0x00]],
    ['a string with a length beyond the frame', [0xdb, 0xff, 0xff, 0xff, 0xff, 0x61]],
    ['an array with a length beyond the frame', [0xdd, 0xff, 0xff, 0xff, 0xff]],
    ['an unknown extension type', [0xd4, 0x05, 0x00]],
  ])('rejects %s on a MessagePack session as bad_message', (_name, bytes) => {
    expectError(decodeClientMessage(Buffer.from(bytes), true, 'msgpack', NOW), 'bad_message');
  });

  it('rejects a binary frame on a JSON session, even holding valid JSON', () => {
    const result = decodeClientMessage(asJson({ type: 'heartbeat' }), true, 'json', NOW);
    expectError(result, 'bad_message');
    expect(result.ok || result.message).toMatch(/binary/);
  });

  it('rejects a text frame on a MessagePack session, even holding valid MessagePack', () => {
    const result = decodeClientMessage(asMsgpack({ type: 'heartbeat' }), false, 'msgpack', NOW);
    expectError(result, 'bad_message');
    expect(result.ok || result.message).toMatch(/text/);
  });

  // A "__proto__" key must stay data: it cannot lend the message a type through the prototype.
  it('rejects a message whose only type is inside a "__proto__" key', () => {
    const text = '{"__proto__":{"type":"heartbeat"}}';
    expectError(decodeClientMessage(Buffer.from(text), false, 'json', NOW), 'bad_message');
    const bytes = rawMap([['__proto__', [...rawMap([['type', str('heartbeat')]])]]]);
    expectError(decodeClientMessage(bytes, true, 'msgpack', NOW), 'bad_message');
  });

  it('rejects JSON text on a MessagePack session (a client that got the encoding wrong)', () => {
    expectError(decodeClientMessage(asJson({ type: 'heartbeat' }), true, 'msgpack', NOW), 'bad_message');
  });
});

describe.each(['json', 'msgpack'] as const)('malformed %s messages', (encoding) => {
  it.each([
    ['an array', [{ type: 'heartbeat' }]],
    ['an empty array', []],
    ['a number', 42],
    ['null', null],
    ['a string', 'heartbeat'],
    ['a boolean', true],
  ])('rejects %s as bad_message', (_name, value) => {
    expectError(send(value, encoding), 'bad_message');
  });

  it.each([
    ['no type', { x: 1 }],
    ['an empty object', {}],
    ['a numeric type', { type: 5 }],
    ['a null type', { type: null }],
    ['an array type', { type: ['camera_update'] }],
    ['an object type', { type: { name: 'heartbeat' } }],
  ])('rejects a message with %s as bad_message', (_name, value) => {
    expectError(send(value, encoding), 'bad_message');
  });

  it.each([
    ['a misspelt type', 'camera_updates'],
    ['a type in another case', 'Heartbeat'],
    ['a server-only type', 'hello'],
    ['ack from a client', 'ack'],
    ['an Object.prototype name', 'toString'],
    ['__proto__', '__proto__'],
    ['an empty type', ''],
  ])('rejects %s as an unknown type (bad_message)', (_name, type) => {
    expectError(send({ type }, encoding), 'bad_message');
  });

  it.each([
    ['x missing', { type: 'camera_update', y: 2, zoom: 1 }],
    ['y missing', { type: 'camera_update', x: 1, zoom: 1 }],
    ['zoom missing', { type: 'camera_update', x: 1, y: 2 }],
    ['x null', { ...CAMERA, x: null }],
    ['x a numeric string', { ...CAMERA, x: '1' }],
    ['x a boolean', { ...CAMERA, x: true }],
    ['zoom an array', { ...CAMERA, zoom: [1] }],
    ['target_x a string', { ...CAMERA, target_x: '3' }],
    ['target_zoom an object', { ...CAMERA, target_zoom: {} }],
    ['zoom 0', { ...CAMERA, zoom: 0 }],
    ['zoom negative', { ...CAMERA, zoom: -1 }],
    ['target_zoom 0', { ...CAMERA, target_zoom: 0 }],
    ['target_zoom negative', { ...CAMERA, target_zoom: -0.5 }],
    ['a negative timestamp', { ...CAMERA, timestamp: -1 }],
    ['a string timestamp', { ...CAMERA, timestamp: 'soon' }],
  ])('rejects a camera_update with %s as bad_message', (_name, value) => {
    expectError(send(value, encoding), 'bad_message');
  });

  it.each([
    ['x fractional', { ...TILE, x: 1.5 }],
    ['y fractional', { ...TILE, y: -0.25 }],
    ['x a string', { ...TILE, x: '1' }],
    ['y missing', { type: 'tile_update', x: 1, brick: 'grass' }],
    ['x beyond 2^53', { ...TILE, x: 2 ** 53 }],
    ['an empty brick', { ...TILE, brick: '' }],
    ['a missing brick', { type: 'tile_update', x: 1, y: 2 }],
    ['a numeric brick', { ...TILE, brick: 5 }],
    ['a brick of 257 characters', { ...TILE, brick: 'b'.repeat(257) }],
  ])('rejects a tile_update with %s as bad_message', (_name, value) => {
    expectError(send(value, encoding), 'bad_message');
  });

  it.each([
    ['a space and punctuation', 'bad id!'],
    ['an empty id', ''],
    ['65 characters', 'c'.repeat(65)],
    ['a non-ASCII letter', 'kamera-ü'],
    ['a slash', 'a/b'],
    ['a number', 7],
    ['"*" (only valid in a subscription)', '*'],
  ])('rejects a camera_update whose camera id has %s as bad_camera', (_name, camera) => {
    expectError(send({ ...CAMERA, camera }, encoding), 'bad_camera');
  });

  it.each([
    ['an invalid id', ['bad id!']],
    ['one invalid id among valid ones', ['main', 'side', 'x y']],
    ['an empty id', ['']],
    ['a 65-character id', ['c'.repeat(65)]],
  ])('rejects a subscribe naming %s as bad_camera', (_name, cameras) => {
    expectError(send({ type: 'subscribe', cameras }, encoding), 'bad_camera');
  });

  it.each([
    ['no cameras', { type: 'subscribe' }],
    ['cameras as a string', { type: 'subscribe', cameras: 'main' }],
    ['cameras as an object', { type: 'subscribe', cameras: { 0: 'main' } }],
    ['cameras null', { type: 'subscribe', cameras: null }],
    ['max_hz as a string', { type: 'subscribe', cameras: ['main'], max_hz: '30' }],
    ['max_hz as a boolean', { type: 'subscribe', cameras: ['main'], max_hz: true }],
    ['max_hz as an array', { type: 'subscribe', cameras: ['main'], max_hz: [30] }],
  ])('rejects a subscribe with %s as bad_message', (_name, value) => {
    expectError(send(value, encoding), 'bad_message');
  });

  it('never reports a code outside the documented ones', () => {
    const result = send({ type: 'nope' }, encoding);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(ERROR_CODES).toContain(result.code);
  });
});

describe('non-finite numbers', () => {
  // JSON has no NaN literal, but 1e999 parses to Infinity.
  it.each([
    ['x = 1e999', '{"type":"camera_update","x":1e999,"y":2,"zoom":1}'],
    ['y = -1e999', '{"type":"camera_update","x":1,"y":-1e999,"zoom":1}'],
    ['zoom = 1e999', '{"type":"camera_update","x":1,"y":2,"zoom":1e999}'],
    ['target_x = 1e999', '{"type":"camera_update","x":1,"y":2,"zoom":1,"target_x":1e999}'],
    ['timestamp = 1e999', '{"type":"camera_update","x":1,"y":2,"zoom":1,"timestamp":1e999}'],
    ['tile x = 1e999', '{"type":"tile_update","x":1e999,"y":2,"brick":"grass"}'],
    ['subscribe max_hz = 1e999', '{"type":"subscribe","cameras":["main"],"max_hz":1e999}'],
  ])('rejects JSON with %s as bad_message', (_name, text) => {
    expectError(decodeClientMessage(Buffer.from(text), false, 'json', NOW), 'bad_message');
  });

  it.each([
    ['x = NaN', { ...CAMERA, x: NaN }],
    ['y = Infinity', { ...CAMERA, y: Infinity }],
    ['zoom = NaN', { ...CAMERA, zoom: NaN }],
    ['zoom = Infinity', { ...CAMERA, zoom: Infinity }],
    ['target_x = -Infinity', { ...CAMERA, target_x: -Infinity }],
    ['target_y = NaN', { ...CAMERA, target_y: NaN }],
    ['target_zoom = NaN', { ...CAMERA, target_zoom: NaN }],
    ['timestamp = NaN', { ...CAMERA, timestamp: NaN }],
    ['tile x = NaN', { ...TILE, x: NaN }],
    ['tile y = Infinity', { ...TILE, y: Infinity }],
    ['subscribe max_hz = NaN', { type: 'subscribe', cameras: ['main'], max_hz: NaN }],
    ['subscribe max_hz = Infinity', { type: 'subscribe', cameras: ['main'], max_hz: Infinity }],
  ])('rejects MessagePack with %s as bad_message', (_name, value) => {
    expectError(send(value, 'msgpack'), 'bad_message');
  });

  it('rejects -0 as a zoom: it is not > 0', () => {
    expectError(send({ ...CAMERA, zoom: -0 }, 'msgpack'), 'bad_message');
    expectError(decodeClientMessage(Buffer.from('{"type":"camera_update","x":1,"y":2,"zoom":-0}'), false, 'json', NOW), 'bad_message');
  });
});

describe('MessagePack extension types', () => {
  it('rejects a timestamp extension in place of x', () => {
    const bytes = rawMap([['type', str('camera_update')], ['x', TIMESTAMP_EXT], ['y', f64(2)], ['zoom', f64(1)]]);
    expectError(decodeClientMessage(bytes, true, 'msgpack', NOW), 'bad_message');
  });

  it('rejects a timestamp extension encoded by @msgpack/msgpack for a Date value', () => {
    expectError(send({ ...CAMERA, zoom: new Date(NOW) }, 'msgpack'), 'bad_message');
    expectError(send({ ...TILE, brick: new Date(NOW) }, 'msgpack'), 'bad_message');
  });

  it('rejects a timestamp extension as the whole message', () => {
    expectError(decodeClientMessage(Buffer.from(TIMESTAMP_EXT), true, 'msgpack', NOW), 'bad_message');
  });

  it('rejects an invalid timestamp extension (zero-length payload) as the whole message', () => {
    expectError(decodeClientMessage(Buffer.from([0xd4, 0xff, 0x00]), true, 'msgpack', NOW), 'bad_message');
  });

  it('rejects an unknown extension type in place of y', () => {
    const bytes = rawMap([['type', str('camera_update')], ['x', f64(1)], ['y', [0xd4, 0x05, 0x00]], ['zoom', f64(1)]]);
    expectError(decodeClientMessage(bytes, true, 'msgpack', NOW), 'bad_message');
  });

  it('rejects binary data (bin format) in place of a number', () => {
    expectError(send({ ...CAMERA, x: new Uint8Array([1, 2, 3]) }, 'msgpack'), 'bad_message');
    expectError(send(new Uint8Array([1, 2, 3]), 'msgpack'), 'bad_message');
  });
});

describe.each(['json', 'msgpack'] as const)('valid %s messages', (encoding) => {
  it('fills in camera "main", null targets (same as the position) and timestamp now', () => {
    expect(send(CAMERA, encoding)).toEqual({
      ok: true,
      message: {
        type: 'camera_update',
        value: { camera: 'main', x: 1, y: 2, zoom: 1, target_x: null, target_y: null, target_zoom: null, timestamp: NOW },
      },
    });
  });

  it('treats null camera, targets and timestamp as absent', () => {
    const result = send({ ...CAMERA, camera: null, target_x: null, target_y: null, target_zoom: null, timestamp: null }, encoding);
    expect(result).toMatchObject({
      ok: true,
      message: { value: { camera: 'main', target_x: null, target_y: null, target_zoom: null, timestamp: NOW } },
    });
  });

  it('keeps every field a producer gives', () => {
    const value = { camera: 'side:1', x: -12.5, y: 3e6, zoom: 0.001, target_x: 0, target_y: -4, target_zoom: 8, timestamp: 1_700_000_000_123 };
    expect(send({ type: 'camera_update', ...value }, encoding)).toEqual({ ok: true, message: { type: 'camera_update', value } });
  });

  it('accepts camera ids at the edges of the pattern', () => {
    for (const camera of ['a', 'A-Z_a.z:0-9', 'c'.repeat(64)]) {
      expect(CAMERA_ID_PATTERN.test(camera)).toBe(true);
      expect(send({ ...CAMERA, camera }, encoding)).toMatchObject({ ok: true, message: { value: { camera } } });
    }
  });

  it('refuses a fractional timestamp (integer milliseconds only)', () => {
    expectError(send({ ...CAMERA, timestamp: 1_795_000_000_123.9 }, encoding), 'bad_message');
  });

  it('ignores fields it does not know, such as a seq the client should not send', () => {
    const result = send({ ...CAMERA, seq: 99, extra: 'x' }, encoding);
    expect(result.ok).toBe(true);
    if (result.ok) expect(result.message).not.toHaveProperty('value.seq');
  });

  it('fills in the timestamp of a tile_update and keeps negative integer coordinates', () => {
    expect(send({ type: 'tile_update', x: -3, y: 40_000, brick: 'stone wall' }, encoding)).toEqual({
      ok: true,
      message: { type: 'tile_update', value: { x: -3, y: 40_000, brick: 'stone wall', timestamp: NOW } },
    });
  });

  it('accepts a whole-number float as a tile coordinate', () => {
    expect(send({ ...TILE, x: 4.0 }, encoding)).toMatchObject({ ok: true, message: { value: { x: 4 } } });
  });

  it.each([
    ['seconds (the Geometry OS client)', 1_795_000_000.25],
    ['milliseconds', 1_795_000_000_123],
    ['nothing at all', undefined],
    ['a string', 'now'],
    ['a negative value', -5],
  ])('accepts a heartbeat whose timestamp is %s', (_name, timestamp) => {
    expect(send({ type: 'heartbeat', timestamp }, encoding)).toEqual({ ok: true, message: { type: 'heartbeat' } });
  });

  it('accepts a subscribe with and without max_hz', () => {
    expect(send({ type: 'subscribe', cameras: ['main', 'side'], max_hz: 12.5 }, encoding)).toEqual({
      ok: true,
      message: { type: 'subscribe', cameras: ['main', 'side'], maxHz: 12.5 },
    });
    expect(send({ type: 'subscribe', cameras: ['*'] }, encoding)).toEqual({
      ok: true,
      message: { type: 'subscribe', cameras: ['*'], maxHz: null },
    });
    expect(send({ type: 'subscribe', cameras: ['main'], max_hz: null }, encoding)).toMatchObject({ ok: true, message: { maxHz: null } });
  });
});

describe('random input', () => {
  // mulberry32: a tiny seeded PRNG, so a failure is reproducible without a new dependency.
  function prng(seed: number): () => number {
    let a = seed >>> 0;
    return () => {
      a = (a + 0x6d2b79f5) >>> 0;
      let t = a;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }

  const VALID_SEEDS = [
    { type: 'camera_update', camera: 'main', x: 1.5, y: -2, zoom: 1, target_x: 3, target_y: 4, target_zoom: 2, timestamp: NOW },
    { type: 'tile_update', x: 1, y: 2, brick: 'grass', timestamp: NOW },
    { type: 'subscribe', cameras: ['main', '*'], max_hz: 30 },
    { type: 'heartbeat', timestamp: 1_795_000_000 },
  ];

  /** Pure noise half the time; otherwise a valid message with a few bytes changed or cut. */
  function randomBuffer(next: () => number, encoding: Encoding): Buffer {
    if (next() < 0.5) {
      const bytes = Buffer.alloc(Math.floor(next() * 64));
      for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(next() * 256);
      return bytes;
    }
    const seed = VALID_SEEDS[Math.floor(next() * VALID_SEEDS.length)]!;
    const bytes = encoding === 'json' ? asJson(seed) : asMsgpack(seed);
    const flips = 1 + Math.floor(next() * 3);
    for (let i = 0; i < flips; i++) bytes[Math.floor(next() * bytes.length)] = Math.floor(next() * 256);
    return next() < 0.2 ? bytes.subarray(0, Math.floor(next() * bytes.length)) : bytes;
  }

  /** What a successful decode promises to the rest of the server. */
  function expectSound(result: Decoded): void {
    if (!result.ok) {
      expect(['bad_message', 'bad_camera']).toContain(result.code);
      expect(typeof result.message).toBe('string');
      return;
    }
    const m = result.message;
    switch (m.type) {
      case 'heartbeat':
        return;
      case 'subscribe':
        expect(Array.isArray(m.cameras)).toBe(true);
        for (const c of m.cameras) expect(c === '*' || CAMERA_ID_PATTERN.test(c)).toBe(true);
        expect(m.maxHz === null || Number.isFinite(m.maxHz)).toBe(true);
        return;
      case 'camera_update': {
        const v = m.value;
        expect(CAMERA_ID_PATTERN.test(v.camera)).toBe(true);
        for (const n of [v.x, v.y, v.zoom]) expect(Number.isFinite(n)).toBe(true);
        for (const n of [v.target_x, v.target_y, v.target_zoom]) expect(n === null || Number.isFinite(n)).toBe(true);
        expect(v.zoom).toBeGreaterThan(0);
        expect(v.target_zoom === null || v.target_zoom > 0).toBe(true);
        expect(Number.isSafeInteger(v.timestamp) && v.timestamp >= 0).toBe(true);
        return;
      }
      case 'tile_update': {
        const v = m.value;
        expect(Number.isSafeInteger(v.x) && Number.isSafeInteger(v.y)).toBe(true);
        expect(typeof v.brick === 'string' && v.brick.length > 0).toBe(true);
        expect(Number.isSafeInteger(v.timestamp)).toBe(true);
        return;
      }
      default:
        throw new Error(`unexpected message type ${JSON.stringify(m)}`);
    }
  }

  it.each([
    ['binary frames on a MessagePack session', 'msgpack', true, 0x5eed],
    ['text frames on a JSON session', 'json', false, 0xc0ffee],
  ] as const)('never throws on 2,000 random %s', (_name, encoding, isBinary, seed) => {
    const next = prng(seed);
    const outcomes = { ok: 0, failed: 0 };
    for (let i = 0; i < 2000; i++) {
      const data = randomBuffer(next, encoding);
      let result: Decoded;
      try {
        result = decodeClientMessage(data, isBinary, encoding, NOW);
      } catch (error) {
        throw new Error(`threw on input #${i} ${data.toString('hex')}: ${String(error)}`);
      }
      expectSound(result);
      outcomes[result.ok ? 'ok' : 'failed']++;
    }
    // The mutated-valid half must reach validation, not just fail to parse.
    expect(outcomes.ok).toBeGreaterThan(0);
    expect(outcomes.failed).toBeGreaterThan(0);
  });

  it('never throws on 2,000 random well-formed objects with random field values', () => {
    const next = prng(42);
    const TYPES = ['camera_update', 'tile_update', 'subscribe', 'heartbeat', 'hello', 5, null];
    const VALUES: unknown[] = [0, -0, 1, -1, 0.5, 2 ** 53, NaN, Infinity, -Infinity, '', 'main', '*', 'bad id!', null, true, [], ['main'], [''], {}, new Date(0), new Uint8Array(2)];
    const FIELDS = ['camera', 'x', 'y', 'zoom', 'target_x', 'target_y', 'target_zoom', 'timestamp', 'brick', 'cameras', 'max_hz'];
    const pick = <T>(list: readonly T[]): T => list[Math.floor(next() * list.length)]!;
    for (let i = 0; i < 2000; i++) {
      const message: Record<string, unknown> = { type: pick(TYPES) };
      for (const field of FIELDS) if (next() < 0.7) message[field] = pick(VALUES);
      expectSound(decodeClientMessage(asMsgpack(message), true, 'msgpack', NOW));
      expectSound(decodeClientMessage(asJson(message), false, 'json', NOW));
    }
  });
});
