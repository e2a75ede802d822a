// The server's codecs: JSON and MessagePack must carry the same objects (docs/protocol.md
// section 2), MessagePack must use portable wire types, and frames must be valid RFC 6455.
import { describe, expect, it } from 'vitest';
import { decode, encode } from '@msgpack/msgpack';
import { Unpackr } from 'msgpackr';
import { cameraUpdateMessage, encodePayload, tileUpdateMessage } from '../../src/protocol/encode.js';
import { MsgpackWriter } from '../../src/protocol/msgpack-writer.js';
import * as ws from 'ws';
import { frameHeader, frameHeaderLength, frameMessage, writeFrame, writeFrameHeader } from '../../src/protocol/frame.js';
import { encodeBatch, framesOf } from '../../src/protocol/ready-frame.js';
import type { CameraInput, ServerMessage, TileInput } from '../../src/protocol/messages.js';

const TS = 1_795_000_000_123; // above 2^32: a default JS encoder would write float64

function camera(overrides: Partial<CameraInput> = {}): CameraInput {
  return { camera: 'main', x: 100, y: -3, zoom: 2, target_x: null, target_y: null, target_zoom: null, timestamp: TS, ...overrides };
}

function tile(overrides: Partial<TileInput> = {}): TileInput {
  return { x: -5, y: 70_000, brick: 'grass', timestamp: TS, ...overrides };
}

const SAMPLES: Array<[string, ServerMessage]> = [
  ['camera_update', cameraUpdateMessage(42, camera({ x: 12.5, target_x: 20 }))],
  ['camera_update without targets', cameraUpdateMessage(1, camera())],
  ['tile_update', tileUpdateMessage(7, tile())],
  [
    'hello',
    {
      type: 'hello', protocol: 'wirecam.v1', encoding: 'msgpack', server: 'wirecam/0.1.0', session: 's-1',
      role: 'producer', cameras: ['main', 'side'], max_hz: 7.5, heartbeat_ms: 10_000,
    },
  ],
  ['heartbeat', { type: 'heartbeat', timestamp: TS }],
  ['ack', { type: 'ack', seq: 123_456 }],
  ['error', { type: 'error', code: 'bad_message', message: 'x, y and zoom must be finite numbers' }],
];

// ---------------------------------------------------------------------------------------
// A minimal MessagePack walker, independent of both libraries, that reports the format
// byte of every value by its key path, so the tests see the wire types, not decoded values.

interface Token {
  path: string;
  format: number;
}

const EXT_FORMATS = new Set([0xc7, 0xc8, 0xc9, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8]);

function walk(bytes: Uint8Array): Token[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const tokens: Token[] = [];
  let at = 0;
  const u8 = () => view.getUint8(at++);
  const take = (n: number) => {
    const start = at;
    at += n;
    if (at > bytes.length) throw new Error('truncated');
    return bytes.subarray(start, at);
  };
  const len = (size: 1 | 2 | 4) => {
    const value = size === 1 ? view.getUint8(at) : size === 2 ? view.getUint16(at) : view.getUint32(at);
    at += size;
    return value;
  };
  const str = (n: number) => new TextDecoder('utf-8', { fatal: true }).decode(take(n));

  // Returns the value when it is a string (to name map keys), else undefined.
  function value(path: string): string | undefined {
    const f = u8();
    tokens.push({ path, format: f });
    if (f <= 0x7f || f >= 0xe0 || f === 0xc0 || f === 0xc2 || f === 0xc3) return undefined;
    if ((f & 0xe0) === 0xa0) return str(f & 0x1f);
    if ((f & 0xf0) === 0x80) return map(f & 0x0f, path);
    if ((f & 0xf0) === 0x90) return array(f & 0x0f, path);
    switch (f) {
      case 0xd9: return str(len(1));
      case 0xda: return str(len(2));
      case 0xdb: return str(len(4));
      case 0xc4: take(len(1)); return undefined;
      case 0xc5: take(len(2)); return undefined;
      case 0xc6: take(len(4)); return undefined;
      case 0xca: take(4); return undefined;
      case 0xcb: take(8); return undefined;
      case 0xcc: case 0xd0: take(1); return undefined;
      case 0xcd: case 0xd1: take(2); return undefined;
      case 0xce: case 0xd2: take(4); return undefined;
      case 0xcf: case 0xd3: take(8); return undefined;
      case 0xdc: return array(len(2), path);
      case 0xdd: return array(len(4), path);
      case 0xde: return map(len(2), path);
      case 0xdf: return map(len(4), path);
      case 0xd4: take(2); return undefined;
      case 0xd5: take(3); return undefined;
      case 0xd6: take(5); return undefined;
      case 0xd7: take(9); return undefined;
      case 0xd8: take(17); return undefined;
      case 0xc7: take(len(1) + 1); return undefined;
      case 0xc8: take(len(2) + 1); return undefined;
      case 0xc9: take(len(4) + 1); return undefined;
      default: throw new Error(`never-used format 0x${f.toString(16)}`);
    }
  }
  function map(count: number, path: string): undefined {
    for (let i = 0; i < count; i++) {
      const key = value(`${path}{key}`);
      if (key === undefined) throw new Error(`map key at ${path} is not a string`);
      value(path === '' ? key : `${path}.${key}`);
    }
    return undefined;
  }
  function array(count: number, path: string): undefined {
    for (let i = 0; i < count; i++) value(`${path}[${i}]`);
    return undefined;
  }

  value('');
  if (at !== bytes.length) throw new Error(`${bytes.length - at} trailing bytes`);
  return tokens;
}

function formatOf(bytes: Uint8Array, path: string): number {
  const token = walk(bytes).find((t) => t.path === path);
  if (!token) throw new Error(`no value at ${path}`);
  return token.format;
}

const INTEGER_FORMATS = new Set([0xcc, 0xcd, 0xce, 0xcf, 0xd0, 0xd1, 0xd2, 0xd3]);
function isIntegerFormat(f: number): boolean {
  return f <= 0x7f || f >= 0xe0 || INTEGER_FORMATS.has(f);
}

const msgpackrUnpackr = new Unpackr({ useRecords: false, int64AsType: 'number' });

// ---------------------------------------------------------------------------------------

describe('JSON and MessagePack carry the same objects', () => {
  it.each(SAMPLES)('%s decodes identically with @msgpack/msgpack', (_name, message) => {
    const fromJson = JSON.parse(encodePayload(message, 'json').toString('utf8'));
    expect(decode(encodePayload(message, 'msgpack'))).toStrictEqual(fromJson);
  });

  it.each(SAMPLES)('%s decodes identically with a plain msgpackr Unpackr', (_name, message) => {
    const fromJson = JSON.parse(encodePayload(message, 'json').toString('utf8'));
    expect(msgpackrUnpackr.unpack(encodePayload(message, 'msgpack'))).toStrictEqual(fromJson);
  });

  it.each(SAMPLES)('%s is a single string-keyed map with no extension types', (_name, message) => {
    const bytes = encodePayload(message, 'msgpack');
    const tokens = walk(bytes);
    expect(tokens[0]!.format & 0xf0).toBe(0x80);
    expect(tokens.filter((t) => EXT_FORMATS.has(t.format))).toEqual([]);
  });

  it('has a walker that does notice extension types (so the check above can fail)', () => {
    const tokens = walk(encode({ type: 'heartbeat', timestamp: new Date(TS) }));
    expect(tokens.some((t) => EXT_FORMATS.has(t.format))).toBe(true);
  });

  it('keeps the same key order in both encodings', () => {
    for (const [, message] of SAMPLES) {
      const jsonKeys = Object.keys(JSON.parse(encodePayload(message, 'json').toString('utf8')));
      const msgpackKeys = walk(encodePayload(message, 'msgpack'))
        .filter((t) => t.path !== '' && !t.path.includes('{') && !t.path.includes('[') && !t.path.includes('.'))
        .map((t) => t.path);
      expect(msgpackKeys).toEqual(jsonKeys);
    }
  });
});

describe('MessagePack wire types', () => {
  const FLOAT_KEYS = ['x', 'y', 'zoom', 'target_x', 'target_y', 'target_zoom'];

  it('writes every camera coordinate as float64 even when it is whole', () => {
    const bytes = encodePayload(cameraUpdateMessage(1, camera({ x: 100, y: 0, zoom: 1, target_x: -7, target_y: 2 ** 40, target_zoom: 3 })), 'msgpack');
    for (const key of FLOAT_KEYS) expect(formatOf(bytes, key), key).toBe(0xcb);
    expect(decode(bytes)).toMatchObject({ x: 100, y: 0, zoom: 1, target_x: -7, target_y: 2 ** 40, target_zoom: 3 });
  });

  it('writes filled-in targets as float64 too', () => {
    const bytes = encodePayload(cameraUpdateMessage(1, camera({ x: 100, y: 5, zoom: 1 })), 'msgpack');
    for (const key of FLOAT_KEYS) expect(formatOf(bytes, key), key).toBe(0xcb);
  });

  it('writes seq and timestamp of a camera_update as integers', () => {
    const bytes = encodePayload(cameraUpdateMessage(300, camera({ timestamp: 1000 })), 'msgpack');
    expect(isIntegerFormat(formatOf(bytes, 'seq'))).toBe(true);
    expect(isIntegerFormat(formatOf(bytes, 'timestamp'))).toBe(true);
  });

  it('writes a millisecond timestamp above 2^32 as uint64, which decodes exactly', () => {
    for (const message of [cameraUpdateMessage(1, camera()), tileUpdateMessage(1, tile()), { type: 'heartbeat', timestamp: TS } as const]) {
      const bytes = encodePayload(message, 'msgpack');
      expect(formatOf(bytes, 'timestamp')).toBe(0xcf);
      expect((decode(bytes) as { timestamp: unknown }).timestamp).toBe(TS);
      expect((msgpackrUnpackr.unpack(bytes) as { timestamp: unknown }).timestamp).toBe(TS);
    }
  });

  // Each boundary of the integer formats, through tile x (an integer field).
  it.each([
    [0, 0x00], [127, 0x7f], [128, 0xcc], [255, 0xcc], [256, 0xcd], [65_535, 0xcd], [65_536, 0xce],
    [2 ** 32 - 1, 0xce], [2 ** 32, 0xcf], [Number.MAX_SAFE_INTEGER, 0xcf],
    [-1, 0xff], [-32, 0xe0], [-33, 0xd0], [-128, 0xd0], [-129, 0xd1], [-32_768, 0xd1], [-32_769, 0xd2],
    [-(2 ** 31), 0xd2], [-(2 ** 31) - 1, 0xd3], [Number.MIN_SAFE_INTEGER, 0xd3],
  ])('writes the integer %d in its smallest integer format and decodes it exactly', (value, format) => {
    const bytes = encodePayload(tileUpdateMessage(1, tile({ x: value, y: value })), 'msgpack');
    expect(formatOf(bytes, 'x')).toBe(format);
    expect(formatOf(bytes, 'y')).toBe(format);
    expect(decode(bytes)).toMatchObject({ x: value, y: value });
    expect(msgpackrUnpackr.unpack(bytes)).toMatchObject({ x: value, y: value });
  });

  it('writes ack seq and hello heartbeat_ms as integers', () => {
    expect(isIntegerFormat(formatOf(encodePayload({ type: 'ack', seq: 70_000 }, 'msgpack'), 'seq'))).toBe(true);
    const hello = SAMPLES.find(([name]) => name === 'hello')![1];
    expect(isIntegerFormat(formatOf(encodePayload(hello, 'msgpack'), 'heartbeat_ms'))).toBe(true);
  });

  // The string header counts UTF-8 bytes, not characters.
  it.each([
    ['31 ASCII bytes (fixstr)', 'a'.repeat(31), 0xbf],
    ['32 ASCII bytes (str8)', 'b'.repeat(32), 0xd9],
    ['255 ASCII bytes (str8)', 'c'.repeat(255), 0xd9],
    ['256 ASCII bytes (str16)', 'd'.repeat(256), 0xda],
    ['65536 ASCII bytes (str32)', 'e'.repeat(65_536), 0xdb],
    ['16 two-byte characters = 32 bytes (str8)', 'é'.repeat(16), 0xd9],
    ['mixed scripts and an astral emoji (38 bytes, str8)', 'カメラ ü 🎥 "quoted" \\ \n — end', 0xd9],
    ['128 three-byte characters = 384 bytes (str16)', 'カ'.repeat(128), 0xda],
  ])('round-trips a string of %s', (_name, text, format) => {
    const message: ServerMessage = { type: 'error', code: 'bad_message', message: text };
    const bytes = encodePayload(message, 'msgpack');
    expect(formatOf(bytes, 'message')).toBe(format);
    expect(decode(bytes)).toStrictEqual(JSON.parse(encodePayload(message, 'json').toString('utf8')));
    expect((msgpackrUnpackr.unpack(bytes) as { message: string }).message).toBe(text);
  });

  it('writes a non-integer where an integer is expected as float64 rather than truncating it', () => {
    // The writer must never silently change a value; validation is the place to reject it.
    const bytes = encodePayload({ type: 'heartbeat', timestamp: 1.5 }, 'msgpack');
    expect(formatOf(bytes, 'timestamp')).toBe(0xcb);
    expect(decode(bytes)).toEqual({ type: 'heartbeat', timestamp: 1.5 });
  });

  it('grows its buffer for a payload larger than the initial size and stays reusable', () => {
    const writer = new MsgpackWriter();
    const big = { list: Array.from({ length: 2000 }, (_, i) => `item-${i}`) };
    expect(decode(writer.encode(big))).toEqual(big);
    // The returned bytes are a copy: a later encode must not change an earlier result.
    const first = writer.encode({ a: 1 });
    writer.encode({ a: 2 });
    expect(decode(first)).toEqual({ a: 1 });
  });

  it('leaves out undefined properties in both encodings', () => {
    const message = { type: 'ack', seq: 3, extra: undefined } as unknown as ServerMessage;
    expect(decode(encodePayload(message, 'msgpack'))).toStrictEqual(JSON.parse(encodePayload(message, 'json').toString('utf8')));
  });
});

describe('camera_update shape', () => {
  const ORDER = ['type', 'camera', 'seq', 'x', 'y', 'zoom', 'target_x', 'target_y', 'target_zoom', 'timestamp'];

  it('has exactly the documented keys, in order', () => {
    const fromJson = JSON.parse(encodePayload(cameraUpdateMessage(9, camera({ target_x: 1, target_y: 2, target_zoom: 3 })), 'json').toString('utf8'));
    expect(Object.keys(fromJson)).toEqual(ORDER);
  });

  it('keeps the key order when the input object lists its fields in another order', () => {
    const shuffled = { timestamp: TS, target_zoom: null, zoom: 2, camera: 'side', y: 1, x: 0, target_y: null, target_x: null } as CameraInput;
    const fromJson = JSON.parse(encodePayload(cameraUpdateMessage(9, shuffled), 'json').toString('utf8'));
    expect(Object.keys(fromJson)).toEqual(ORDER);
  });

  it('fills absent targets with x, y and zoom', () => {
    expect(cameraUpdateMessage(5, camera({ x: 12.5, y: -3, zoom: 2 }))).toEqual({
      type: 'camera_update', camera: 'main', seq: 5, x: 12.5, y: -3, zoom: 2, target_x: 12.5, target_y: -3, target_zoom: 2, timestamp: TS,
    });
  });

  it('keeps a target of 0 rather than treating it as absent', () => {
    const message = cameraUpdateMessage(5, camera({ x: 12.5, y: -3, zoom: 2, target_x: 0, target_y: 0, target_zoom: 0.5 }));
    expect(message).toMatchObject({ target_x: 0, target_y: 0, target_zoom: 0.5 });
  });
});

describe('WebSocket framing', () => {
  const SIZES = [0, 1, 125, 126, 127, 65_535, 65_536, 70_000];

  function expectedHeader(length: number, binary: boolean): number[] {
    const first = 0x80 | (binary ? 0x2 : 0x1); // FIN, no RSV bits, opcode
    if (length <= 125) return [first, length]; // mask bit clear: server frames are unmasked
    if (length <= 0xffff) return [first, 126, length >> 8, length & 0xff];
    const bytes = [first, 127];
    for (let shift = 56; shift >= 0; shift -= 8) bytes.push(Number((BigInt(length) >> BigInt(shift)) & 0xffn));
    return bytes;
  }

  describe.each([
    ['text', false],
    ['binary', true],
  ])('%s frames', (_kind, binary) => {
    it.each(SIZES)('has the RFC 6455 header for a %d-byte payload', (size) => {
      const payload = Buffer.alloc(size, 0x61);
      const header = frameHeader(payload, binary);
      expect([...header]).toEqual(expectedHeader(size, binary));
      expect(frameHeaderLength(size)).toBe(header.length);

      const frame = frameMessage(payload, binary);
      expect(frame.length).toBe(header.length + size);
      expect(frame.subarray(0, header.length).equals(header)).toBe(true);
      expect(frame.subarray(header.length).equals(payload)).toBe(true);
    });
  });

  it('writes the same header as ws\'s own Sender, and refuses to write past the end', () => {
    // ws exports Sender at run time; its type definitions leave it out.
    const { Sender } = ws as unknown as { Sender: { frame(data: Buffer, options: object): Buffer[] } };
    for (const size of SIZES) {
      for (const binary of [false, true]) {
        const payload = Buffer.alloc(size, 0x62);
        const [header] = Sender.frame(payload, { fin: true, opcode: binary ? 2 : 1, mask: false, readOnly: true, rsv1: false });
        expect(frameHeader(payload, binary).equals(header!), `${size} bytes, binary ${binary}`).toBe(true);
        const target = Buffer.alloc(3 + header!.length + size);
        expect(writeFrame(target, 3, [payload.subarray(0, 1), payload.subarray(1)], binary)).toBe(header!.length + size);
        expect(target.subarray(3).equals(Buffer.concat([header!, payload]))).toBe(true);
      }
    }
    expect(() => writeFrameHeader(Buffer.alloc(3), 0, 200, false)).toThrow(RangeError);
    expect(() => writeFrame(Buffer.alloc(10), 0, [Buffer.alloc(9)], false)).toThrow(RangeError);
  });

  it('uses the 7-bit, 16-bit and 64-bit length forms at the RFC boundaries', () => {
    expect([0, 125].map(frameHeaderLength)).toEqual([2, 2]);
    expect([126, 65_535].map(frameHeaderLength)).toEqual([4, 4]);
    expect([65_536, 2 ** 32].map(frameHeaderLength)).toEqual([10, 10]);
  });
});

// Parses one unmasked server frame that fills `frame` exactly.
function unframe(frame: Buffer): { fin: boolean; opcode: number; payload: Buffer } {
  const fin = (frame[0]! & 0x80) !== 0;
  const opcode = frame[0]! & 0x0f;
  expect(frame[1]! & 0x80).toBe(0);
  let length = frame[1]! & 0x7f;
  let at = 2;
  if (length === 126) {
    length = frame.readUInt16BE(2);
    at = 4;
  } else if (length === 127) {
    length = Number(frame.readBigUInt64BE(2));
    at = 10;
  }
  expect(frame.length).toBe(at + length);
  return { fin, opcode, payload: frame.subarray(at) };
}

describe('encodeBatch and framesOf', () => {
  const cameras = [
    { seq: 10, value: camera({ camera: 'main', x: 1.5 }) },
    { seq: 11, value: camera({ camera: 'side', x: 2, target_zoom: 4, timestamp: TS + 1 }) },
    // Large enough to need the 16-bit length form.
    { seq: 12, value: camera({ camera: 'c'.repeat(64), x: -0.25 }) },
  ];
  const tiles = [
    { seq: 3, value: tile({ x: 1, y: 2, brick: 'stone' }) },
    { seq: 4, value: tile({ x: -1, y: -2, brick: 'b'.repeat(200), timestamp: TS + 2 }) },
  ];

  it('returns frames that are views into the one buffer of the batch', () => {
    const batch = encodeBatch(cameras, tiles);
    const frames = framesOf(batch, () => 0);
    expect(frames).toHaveLength(5);
    for (const frame of frames) {
      expect(frame.json.buffer).toBe(batch.bytes);
      expect(frame.msgpack.buffer).toBe(batch.bytes);
      expect(frame.legacy.buffer).toBe(batch.bytes);
    }
    // Nothing else lives in that buffer: it is transferred whole to another thread.
    const used = frames.reduce((sum, f) => sum + f.json.length + f.msgpack.length + f.legacy.length, 0);
    expect(batch.bytes.byteLength).toBe(used);
  });

  it('keeps items in order with their kinds, cameras, seqs, timestamps and origins', () => {
    const batch = encodeBatch(cameras, tiles);
    const frames = framesOf(batch, (item) => item.seq * 100);
    expect(frames.map(({ kind, camera: id, seq, timestamp, origin }) => ({ kind, camera: id, seq, timestamp, origin }))).toEqual([
      { kind: 'camera', camera: 'main', seq: 10, timestamp: TS, origin: 1000 },
      { kind: 'camera', camera: 'side', seq: 11, timestamp: TS + 1, origin: 1100 },
      { kind: 'camera', camera: 'c'.repeat(64), seq: 12, timestamp: TS, origin: 1200 },
      { kind: 'tile', camera: '', seq: 3, timestamp: TS, origin: 300 },
      { kind: 'tile', camera: '', seq: 4, timestamp: TS + 2, origin: 400 },
    ]);
  });

  it('frames each payload so that it decodes to the right message', () => {
    const batch = encodeBatch(cameras, tiles);
    const frames = framesOf(batch, () => 0);
    const expected = [
      ...cameras.map(({ seq, value }) => cameraUpdateMessage(seq, value)),
      ...tiles.map(({ seq, value }) => tileUpdateMessage(seq, value)),
    ];
    frames.forEach((frame, i) => {
      const json = unframe(frame.json);
      expect(json).toMatchObject({ fin: true, opcode: 1 });
      expect(JSON.parse(json.payload.toString('utf8'))).toEqual(expected[i]);
      const msgpack = unframe(frame.msgpack);
      expect(msgpack).toMatchObject({ fin: true, opcode: 2 });
      expect(decode(msgpack.payload)).toEqual(expected[i]);
      expect(formatOf(msgpack.payload, 'timestamp')).toBe(0xcf);
    });
  });

  it('frames the legacy payload in camera_sync.rs units: camera seconds rounded down, tile seconds fractional', () => {
    const batch = encodeBatch(cameras, tiles);
    const frames = framesOf(batch, () => 0);
    const expected = [
      ...cameras.map(({ seq, value }) => ({ ...cameraUpdateMessage(seq, value), timestamp: Math.floor(value.timestamp / 1000) })),
      ...tiles.map(({ seq, value }) => ({ ...tileUpdateMessage(seq, value), timestamp: value.timestamp / 1000 })),
    ];
    frames.forEach((frame, i) => {
      const legacy = unframe(frame.legacy);
      expect(legacy).toMatchObject({ fin: true, opcode: 1 });
      expect(JSON.parse(legacy.payload.toString('utf8'))).toEqual(expected[i]);
    });
  });

  it('produces the same frames as framing each message on its own', () => {
    const batch = encodeBatch(cameras.slice(0, 1), tiles.slice(0, 1));
    const [cam, til] = framesOf(batch, () => 0);
    const camMessage = cameraUpdateMessage(cameras[0]!.seq, cameras[0]!.value);
    const tileMessage = tileUpdateMessage(tiles[0]!.seq, tiles[0]!.value);
    expect(cam!.json.equals(frameMessage(encodePayload(camMessage, 'json'), false))).toBe(true);
    expect(cam!.msgpack.equals(frameMessage(encodePayload(camMessage, 'msgpack'), true))).toBe(true);
    expect(til!.json.equals(frameMessage(encodePayload(tileMessage, 'json'), false))).toBe(true);
    expect(til!.msgpack.equals(frameMessage(encodePayload(tileMessage, 'msgpack'), true))).toBe(true);
  });

  it('marks where each seq lies and each tile\'s coordinate with seqTemplates, without changing a byte', () => {
    const plain = framesOf(encodeBatch(cameras, tiles), () => 0);
    const marked = framesOf(encodeBatch(cameras, tiles, { seqTemplates: true }), () => 0);
    expect(plain.every((frame) => frame.template === undefined)).toBe(true);
    marked.forEach((frame, i) => {
      const before = plain[i]!;
      expect(frame.json.equals(before.json) && frame.msgpack.equals(before.msgpack) && frame.legacy.equals(before.legacy)).toBe(true);
      const template = frame.template!;
      expect(template.coordinate).toBe(frame.kind === 'tile' ? `${tiles[i - cameras.length]!.value.x},${tiles[i - cameras.length]!.value.y}` : '');
      for (const format of ['json', 'legacy'] as const) {
        const span = template[format];
        expect(span.payloadAt).toBe(unframe(frame[format]).payload.byteOffset - frame[format].byteOffset);
        expect(frame[format].toString('latin1', span.seqAt - 6, span.seqEnd)).toBe(`"seq":${frame.seq}`);
      }
      const span = template.msgpack;
      expect(decode(frame.msgpack.subarray(span.seqAt, span.seqEnd))).toBe(frame.seq);
      expect(frame.msgpack.subarray(span.seqAt - 4, span.seqAt)).toEqual(Buffer.from([0xa3, ...Buffer.from('seq')]));
    });
    // A camera named like the key: its id comes first and is not taken for the seq.
    const [named] = framesOf(encodeBatch([{ seq: 300, value: camera({ camera: 'seq' }) }], [], { seqTemplates: true }), () => 0);
    expect(decode(named!.msgpack.subarray(named!.template!.msgpack.seqAt, named!.template!.msgpack.seqEnd))).toBe(300);
  });

  it('handles an empty batch', () => {
    const batch = encodeBatch([], []);
    expect(batch.items).toEqual([]);
    expect(batch.bytes.byteLength).toBe(0);
    expect(framesOf(batch, () => 0)).toEqual([]);
  });

  it('handles a batch of only tiles or only cameras', () => {
    expect(framesOf(encodeBatch([], tiles), () => 0).map((f) => f.kind)).toEqual(['tile', 'tile']);
    expect(framesOf(encodeBatch(cameras, []), () => 0).map((f) => f.kind)).toEqual(['camera', 'camera', 'camera']);
  });
});
