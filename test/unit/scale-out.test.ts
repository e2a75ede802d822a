// The pieces of the Redis bus that need no Redis: the seq template (a message encoded once
// by the store worker, its seq written in later by slicing bytes), the envelope between nodes, the resync plan, tile ordering, the
// settings that choose the bus, and /healthz with a degraded bus.
import { describe, expect, it } from 'vitest';
import { cameraUpdateMessage, encodeFramedSet, tileUpdateMessage } from '../../src/protocol/encode.js';
import type { CameraInput } from '../../src/protocol/messages.js';
import type { ReadyFrame } from '../../src/protocol/ready-frame.js';
import { msgpackUint, withSeq } from '../../src/bus/redis/seq-template.js';
import { decodeEnvelope, EnvelopeError, frameOfEnvelope } from '../../src/bus/redis/envelope.js';
import { encodeEnvelope } from '../helpers/envelope.js';
import { messageOfFrame, templatedFrame } from '../helpers/frames.js';
import { planResync, type Mine } from '../../src/bus/redis/resync-plan.js';
import { TileSequencer } from '../../src/bus/redis/tile-sequencer.js';
import { createBus } from '../../src/bus/create-bus.js';
import { InProcessBus } from '../../src/bus/bus.js';
import { ConfigError, envName, resolveConfig, SERVE_SETTINGS } from '../../src/config.js';
import { healthReport, type HealthSource } from '../../src/server/health.js';
import { createLogger } from '../../src/log.js';
import { MsgpackWriter } from '../../src/protocol/msgpack-writer.js';

const TS = 1_795_000_000_123;

function cameraInput(overrides: Partial<CameraInput> = {}): CameraInput {
  return { camera: 'main', x: 1.5, y: -2, zoom: 1.25, target_x: 3, target_y: null, target_zoom: null, timestamp: TS, ...overrides };
}

/** Seqs at every boundary of the MessagePack integer forms and of the decimal digits. */
const SEQS = [0, 1, 9, 10, 127, 128, 255, 256, 999, 65_535, 65_536, 4_294_967_295, 4_294_967_296, 2 ** 40 + 7, Number.MAX_SAFE_INTEGER];

function frame(camera: string, seq: number, timestamp: number, kind: 'camera' | 'tile' = 'camera'): ReadyFrame {
  const message = kind === 'camera' ? cameraUpdateMessage(seq, cameraInput({ camera, timestamp })) : tileUpdateMessage(seq, { x: seq, y: 0, brick: 'b', timestamp });
  return templatedFrame(message);
}

describe('seq template', () => {
  it('fills in any seq to exactly the frames encodeFramedSet gives', () => {
    const messages = [
      cameraUpdateMessage(5, cameraInput()),
      cameraUpdateMessage(5, cameraInput({ camera: 'seq' })), // a camera named like the key
      tileUpdateMessage(5, { x: -3, y: 7, brick: '"seq":9007199254740991', timestamp: TS }),
      tileUpdateMessage(5, { x: 1, y: 1, brick: 'x'.repeat(100), timestamp: TS }), // header length changes with the seq
      tileUpdateMessage(5, { x: 1, y: 1, brick: 'y'.repeat(70_000), timestamp: TS }), // 64-bit length
    ];
    for (const message of messages) {
      const template = templatedFrame(message);
      for (const seq of SEQS) {
        const filled = withSeq(template, seq);
        const encoded = encodeFramedSet({ ...message, seq });
        // Buffer.equals: a deep comparison of 70 kB frames byte by byte would take seconds.
        const same = filled.json.equals(encoded.json) && filled.msgpack.equals(encoded.msgpack) && filled.legacy.equals(encoded.legacy);
        expect(same && filled.seq === seq, `${message.type} seq ${seq}`).toBe(true);
        // Filled again from the filled frame: its template moved with the seq's length.
        const again = withSeq(filled, 5);
        expect(again.json.equals(template.json) && again.msgpack.equals(template.msgpack) && again.legacy.equals(template.legacy), `${message.type} back from ${seq}`).toBe(true);
      }
    }
  });

  it('writes integers in the shortest form, like the server\'s MessagePack writer', () => {
    const writer = new MsgpackWriter();
    for (const seq of SEQS) expect(msgpackUint(seq)).toEqual(writer.encode(seq));
  });

  it('reads the message back from a JSON frame, whatever its header length', () => {
    for (const brick of ['short', 'z'.repeat(200), 'w'.repeat(70_000)]) {
      const message = tileUpdateMessage(9, { x: 1, y: 2, brick, timestamp: TS });
      expect(messageOfFrame(encodeFramedSet(message).json)).toEqual(message);
    }
  });
});

describe('envelope between nodes', () => {
  it('carries the three payloads and the metadata, gives views, not copies, and frames them as one node does', () => {
    const frame = templatedFrame(cameraUpdateMessage(77, cameraInput({ camera: 'overview' })));
    const bytes = encodeEnvelope({ kind: 'camera', seq: 77, timestamp: TS, origin: 12, flags: 0, node: 'node-a', camera: 'overview' }, frame);
    const envelope = decodeEnvelope(bytes);
    expect(envelope).toMatchObject({ kind: 'camera', seq: 77, timestamp: TS, origin: 12, flags: 0, node: 'node-a', camera: 'overview', coordinate: '' });
    expect(envelope.payloads.json.head.buffer).toBe(bytes.buffer);
    expect(envelope.payloads.msgpack.tail.buffer).toBe(bytes.buffer);
    const framed = frameOfEnvelope(envelope, 'node-b');
    expect(framed.json).toEqual(frame.json);
    expect(framed.msgpack).toEqual(frame.msgpack);
    expect(framed.legacy).toEqual(frame.legacy);
    expect(framed.template).toEqual(frame.template);
    // The origin (a producer connection) means something on the accepting node only.
    expect(framed).toMatchObject({ kind: 'camera', camera: 'overview', seq: 77, origin: 0 });
    expect(frameOfEnvelope(envelope, 'node-a').origin).toBe(12);
  });

  it('carries tiles, whose camera is empty, with their coordinate', () => {
    const frame = templatedFrame(tileUpdateMessage(2 ** 40, { x: 1, y: -2, brick: 'stone', timestamp: TS }));
    const envelope = decodeEnvelope(encodeEnvelope({ kind: 'tile', seq: 2 ** 40, timestamp: TS, origin: 0, flags: 1, node: 'n', camera: '' }, frame));
    expect(envelope).toMatchObject({ kind: 'tile', seq: 2 ** 40, camera: '', flags: 1, coordinate: '1,-2' });
    expect(frameOfEnvelope(envelope, 'n').msgpack).toEqual(frame.msgpack);
  });

  it('refuses what it cannot read', () => {
    const good = encodeEnvelope({ kind: 'camera', seq: 1, timestamp: TS, origin: 0, flags: 0, node: 'n', camera: 'c' }, templatedFrame(cameraUpdateMessage(1, cameraInput())));
    expect(decodeEnvelope(good).seq).toBe(1);
    expect(() => decodeEnvelope(Buffer.from('hello'))).toThrow(EnvelopeError);
    // An envelope of the previous version (whole frames): all nodes of a deployment run one version.
    expect(() => decodeEnvelope(Buffer.concat([Buffer.from([1]), good.subarray(1)]))).toThrow(/version 1/);
    expect(() => decodeEnvelope(good.subarray(0, 40))).toThrow(EnvelopeError);
    // Cut anywhere, or with bytes after the payloads: refused, never read past its end.
    for (let length = 0; length < good.length; length++) expect(() => decodeEnvelope(good.subarray(0, length)), `${length} bytes`).toThrow(EnvelopeError);
    expect(() => decodeEnvelope(Buffer.concat([good, Buffer.from([0])]))).toThrow(/after the payloads/);
  });
});

describe('resync plan', () => {
  /** [shown, accepted while Redis was away (or null)] per camera. */
  const mine = (entries: Array<[ReadyFrame, ReadyFrame | null]>) => new Map<string, Mine>(entries.map(([shown, accepted]) => [shown.camera, { shown, accepted }]));
  const theirs = (frames: ReadyFrame[]) => new Map(frames.map((f) => [f.camera, f]));
  const summary = (actions: ReturnType<typeof planResync>) => actions.map((a) => `${a.type} ${a.frame.camera}#${a.frame.seq}@${a.frame.timestamp}`).sort();

  it('delivers newer states from Redis, and cameras this node did not know', () => {
    expect(summary(planResync(mine([[frame('a', 5, 100), null]]), theirs([frame('a', 9, 200), frame('b', 3, 50)])))).toEqual([
      'deliver a#9@200',
      'deliver b#3@50',
    ]);
  });

  it('puts back what Redis lost, and does nothing where both agree', () => {
    expect(summary(planResync(mine([[frame('a', 5, 100), null], [frame('b', 4, 100), null]]), theirs([frame('b', 4, 100)])))).toEqual(['republish a#5@100']);
  });

  it('lets a state accepted during the outage win when it is more recent', () => {
    // Provisional seq 6 here; another node got 8 for an older state.
    const accepted = frame('a', 6, 300);
    expect(summary(planResync(mine([[accepted, accepted]]), theirs([frame('a', 8, 200)])))).toEqual(['republish a#6@300']);
    // ... also when that older state already reached this node (a higher seq, shown here).
    expect(summary(planResync(mine([[frame('a', 8, 200), accepted]]), theirs([frame('a', 8, 200)])))).toEqual(['republish a#6@300']);
    // ... but not when Redis's is more recent: then it is delivered (its seq is higher) ...
    const older = frame('a', 6, 100);
    expect(summary(planResync(mine([[older, older]]), theirs([frame('a', 8, 200)])))).toEqual(['deliver a#8@200']);
    // ... or republished above the provisional seq this node's clients saw.
    const ahead = frame('a', 12, 100);
    expect(summary(planResync(mine([[ahead, ahead]]), theirs([frame('a', 8, 200)])))).toEqual(['republish a#8@200']);
  });

  it('republishes the more recent state when Redis holds a lower seq than this node showed', () => {
    expect(summary(planResync(mine([[frame('a', 12, 300), null]]), theirs([frame('a', 8, 200)])))).toEqual(['republish a#12@300']);
  });
});

describe('tile sequencer', () => {
  it('delivers this node\'s tiles from their copy on the subscription, in Redis\'s order', () => {
    const tiles = new TileSequencer();
    tiles.published(frame('', 2, 1, 'tile'));
    expect(tiles.fromSubscription(frame('', 1, 1, 'tile'), false)?.seq).toBe(1);
    expect(tiles.fromSubscription(frame('', 2, 1, 'tile'), true)?.seq).toBe(2);
    // A copy that comes before the script's reply.
    expect(tiles.fromSubscription(frame('', 3, 1, 'tile'), true)?.seq).toBe(3);
    tiles.published(frame('', 3, 1, 'tile'));
    expect(tiles.flushAwaiting()).toEqual([]);
    expect(tiles.renumbered).toBe(0);
  });

  it('delivers tiles still waiting for their copy when the subscription is gone', () => {
    const tiles = new TileSequencer();
    tiles.published(frame('', 5, 1, 'tile'));
    tiles.published(frame('', 4, 1, 'tile'));
    expect(tiles.flushAwaiting().map((t) => t.seq)).toEqual([4, 5]);
    expect(tiles.lastSeq).toBe(5);
    // Their copies, read back from Redis later, are not delivered twice.
    expect(tiles.fromSubscription(frame('', 4, 1, 'tile'), true)).toBeNull();
    expect(tiles.fromSubscription(frame('', 6, 1, 'tile'), false)?.seq).toBe(6);
  });

  it('renumbers a tile that comes below a seq already shown (after an outage)', () => {
    const tiles = new TileSequencer();
    tiles.admit(frame('', 10, 1, 'tile'));
    const late = tiles.fromSubscription(frame('', 7, 1, 'tile'), false)!;
    expect(late.seq).toBe(11);
    expect(messageOfFrame(late.json)).toMatchObject({ type: 'tile_update', seq: 11, x: 7 });
    expect(tiles.renumbered).toBe(1);
    expect(tiles.nextProvisional()).toBe(12);
  });
});

describe('choosing the bus', () => {
  const log = createLogger('silent');

  it('reads --redis from WIRECAM_REDIS_URL, and masks it when printed', () => {
    expect(envName('redis')).toBe('WIRECAM_REDIS_URL');
    const { config, sources } = resolveConfig(SERVE_SETTINGS, { argv: ['--node-id', 'n1'], env: { WIRECAM_REDIS_URL: 'redis://127.0.0.1:6379' } });
    expect(config.redis).toBe('redis://127.0.0.1:6379');
    expect(config['node-id']).toBe('n1');
    expect(sources.redis).toBe('env');
    expect(SERVE_SETTINGS.find((spec) => spec.name === 'redis')?.secret).toBe(true);
  });

  it('is in-process without --redis, and refuses a bad URL or node id', async () => {
    expect(createBus({ redis: undefined, 'node-id': undefined }, log)).toBeInstanceOf(InProcessBus);
    expect(() => createBus({ redis: 'http://example.com', 'node-id': undefined }, log)).toThrow(ConfigError);
    expect(() => createBus({ redis: 'not a url', 'node-id': undefined }, log)).toThrow(/--redis/);
    expect(() => createBus({ redis: 'redis://127.0.0.1:1', 'node-id': 'has space' }, log)).toThrow(/--node-id/);
  });
});

describe('/healthz with a bus', () => {
  const source = (bus: HealthSource['bus'], store: 'ok' | 'unavailable' = 'ok'): HealthSource => ({
    startedAt: 0,
    clients: () => 3,
    cameras: () => 1,
    lastUpdateAt: () => 0,
    store: () => ({ state: store, error: store === 'ok' ? null : 'disk gone' }),
    bus,
  });

  it('reports a degraded bus with 200: local clients are still served', () => {
    const { httpStatus, body } = healthReport(source(() => ({ state: 'degraded', detail: 'redis unreachable' })), 1000);
    expect(httpStatus).toBe(200);
    expect(body).toMatchObject({ status: 'degraded', bus: 'degraded', bus_error: 'redis unreachable', store: 'ok' });
  });

  it('reports ok with a working bus, and unavailable (503) when the store cannot be read', () => {
    expect(healthReport(source(() => ({ state: 'ok', detail: null })), 1000).body).toMatchObject({ status: 'ok', bus: 'ok' });
    const broken = healthReport(source(() => ({ state: 'degraded', detail: null }), 'unavailable'), 1000);
    expect(broken.httpStatus).toBe(503);
    expect(broken.body.status).toBe('unavailable');
  });
});
