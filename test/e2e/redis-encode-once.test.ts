// Encode once on every path: with --redis, the store worker encodes each update (all three
// frame formats, with the seq template) and the main thread only slices bytes. This runs the
// Redis bus's whole main-thread path against a real redis-server, in this process: live
// publishing, receiving another node's updates, joining with a snapshot, serving
// provisionally while the path to Redis is frozen, the resync (republishing, pending tiles,
// tile catch-up, renumbering), and the tile history read for a map and a resume. JSON.parse,
// JSON.stringify and the MessagePack writer are counted meanwhile: none may see a camera or
// tile update. Then every frame delivered on any node is compared byte for byte with what a
// single node sends for that update and seq.
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../../src/log.js';
import type { CameraInput, TileInput } from '../../src/protocol/messages.js';
import { cameraUpdateMessage, encodeFramedSet, tileUpdateMessage } from '../../src/protocol/encode.js';
import { MsgpackWriter } from '../../src/protocol/msgpack-writer.js';
import { encodeBatch, framesOf, type ReadyFrame } from '../../src/protocol/ready-frame.js';
import { RedisBus } from '../../src/bus/redis/redis-bus.js';
import { RedisTileHistory } from '../../src/bus/redis/tile-history.js';
import { stopAllProcesses } from '../helpers/processes.js';
import { startProxy, type TcpProxy } from '../helpers/proxies.js';
import { redisAvailable, startRedis, type RedisServer } from '../helpers/redis.js';
import { waitFor } from '../helpers/wait.js';

const available = redisAvailable('the encode-once test of the Redis bus');
const log = createLogger('silent');
const TS = 1_795_000_000_000;

let redis: RedisServer;
let proxy: TcpProxy;
const buses: RedisBus[] = [];
const histories: RedisTileHistory[] = [];

beforeAll(async () => {
  if (!available) return;
  redis = await startRedis();
  proxy = await startProxy(redis.port);
});

afterEach(() => {
  vi.restoreAllMocks();
});

afterAll(async () => {
  proxy?.thaw();
  await Promise.all([...buses.map((bus) => bus.stop()), ...histories.map((history) => history.stop())]);
  await stopAllProcesses();
});

/** Every input by its timestamp (unique in this file), to rebuild what a single node sends. */
const inputs = new Map<number, { kind: 'camera'; value: CameraInput } | { kind: 'tile'; value: TileInput }>();
let nextTimestamp = TS;

function camera(id: string, x: number): CameraInput {
  const value: CameraInput = { camera: id, x, y: -x / 3, zoom: 1.25, target_x: x + 0.5, target_y: null, target_zoom: 2, timestamp: nextTimestamp++ };
  inputs.set(value.timestamp, { kind: 'camera', value });
  return value;
}

function tile(x: number, brick: string): TileInput {
  const value: TileInput = { x, y: -x, brick, timestamp: nextTimestamp++ };
  inputs.set(value.timestamp, { kind: 'tile', value });
  return value;
}

/** What the store worker hands the main thread with --redis (row ids as local seqs). */
function encoded(cameras: CameraInput[], tiles: TileInput[]): ReadyFrame[] {
  let row = 1000;
  const batch = encodeBatch(
    cameras.map((value) => ({ seq: row++, value })),
    tiles.map((value) => ({ seq: row++, value })),
    { seqTemplates: true },
  );
  return framesOf(batch, () => 0);
}

/** Counts the encoder's and the JSON parser's calls that concern a camera or tile update. */
function countEncoding() {
  const counts = { 'JSON.parse': 0, 'JSON.stringify': 0, 'MessagePack writer': 0 };
  const isUpdate = (value: unknown) => {
    const type = (value as { type?: unknown } | null)?.type;
    return type === 'camera_update' || type === 'tile_update';
  };
  const parse = JSON.parse;
  const stringify = JSON.stringify;
  const encode = MsgpackWriter.prototype.encode;
  vi.spyOn(JSON, 'parse').mockImplementation(function (this: unknown, text: string, reviver?: (key: string, value: unknown) => unknown) {
    const value = parse.call(JSON, text, reviver) as unknown;
    if (isUpdate(value)) counts['JSON.parse']++;
    return value;
  });
  vi.spyOn(JSON, 'stringify').mockImplementation(function (this: unknown, value: unknown, ...rest: unknown[]) {
    if (isUpdate(value)) counts['JSON.stringify']++;
    return (stringify as (...args: unknown[]) => string).call(JSON, value, ...rest);
  });
  vi.spyOn(MsgpackWriter.prototype, 'encode').mockImplementation(function (this: MsgpackWriter, ...args: Parameters<MsgpackWriter['encode']>) {
    counts['MessagePack writer']++;
    return encode.apply(this, args);
  });
  return counts;
}

/** A bus as a node runs it, with everything it hands its graph recorded. */
async function node(nodeId: string, url: string, local: ReadyFrame[] = []): Promise<{ bus: RedisBus; delivered: ReadyFrame[] }> {
  const bus = new RedisBus({ url, nodeId, log, startWaitMs: 5000 });
  buses.push(bus);
  const delivered = [...(await bus.snapshot(local))];
  bus.frames.subscribe((frames) => delivered.push(...frames));
  return { bus, delivered };
}

const has = (delivered: ReadyFrame[], timestamp: number) => delivered.some((frame) => frame.timestamp === timestamp);

/** The three frames a single node sends for this update with this seq. */
function singleNode(frame: ReadyFrame) {
  const input = inputs.get(frame.timestamp)!;
  expect(input, `an input for timestamp ${frame.timestamp}`).toBeDefined();
  return encodeFramedSet(input.kind === 'camera' ? cameraUpdateMessage(frame.seq, input.value) : tileUpdateMessage(frame.seq, input.value));
}

describe.skipIf(!available)('the Redis bus encodes nothing on the main thread', () => {
  it('publishes, receives, resyncs, catches up and reads the history without encoding or parsing an update', async () => {
    // The store workers' output, made before counting starts.
    const localOfA = encoded([camera('boot-a', 1)], []);
    const live = encoded([camera('shared', 2), camera('other', 3)], [tile(1, 'stone'), tile(2, 'b'.repeat(200))]);
    const whileFrozen = encoded([camera('offline-d', 4)], [tile(3, 'mud')]);
    const meanwhile = encoded([camera('shared', 5)], [tile(4, 'sand'), tile(5, 'w'.repeat(70_000))]);
    const after = encoded([camera('shared', 6)], [tile(6, 'clay')]);

    const counts = countEncoding();
    const a = await node('enc-a', redis.url, localOfA);
    const b = await node('enc-b', redis.url);
    const d = await node('enc-d', proxy.url);
    expect(has(b.delivered, localOfA[0]!.timestamp), 'node B starts with node A\'s store state').toBe(true);

    a.bus.publish(live);
    for (const n of [a, b, d]) {
      await waitFor(() => live.every((frame) => has(n.delivered, frame.timestamp)), 'the live updates on every node');
    }

    // Node D loses its path to Redis without FIN or RST, serves its own update provisionally,
    // and misses node A's meanwhile.
    proxy.freeze();
    await waitFor(() => d.bus.state().state === 'degraded', 'node D to notice the frozen path', 15_000);
    d.bus.publish(whileFrozen);
    await waitFor(() => whileFrozen.every((frame) => has(d.delivered, frame.timestamp)), 'node D\'s provisional updates');
    a.bus.publish(meanwhile);
    await waitFor(() => meanwhile.every((frame) => has(b.delivered, frame.timestamp)), 'node A\'s updates on node B');
    proxy.thaw();
    await waitFor(() => d.bus.state().state === 'ok', 'node D to resynchronise', 20_000);
    await waitFor(() => meanwhile.every((frame) => has(d.delivered, frame.timestamp)), 'the missed updates on node D');
    await waitFor(() => whileFrozen.every((frame) => b.delivered.filter((f) => f.timestamp === frame.timestamp).length > 0), 'node D\'s updates on node B');
    b.bus.publish(after);
    for (const n of [a, b, d]) {
      await waitFor(() => after.every((frame) => has(n.delivered, frame.timestamp)), 'the updates after the resync on every node');
    }

    // The history a map and a resume read, on a node that reads it from Redis.
    const history = new RedisTileHistory({ url: redis.url, nodeId: 'enc-h' });
    histories.push(history);
    const newest = await history.start();
    const map = await history.read('map', 0, newest, 100);
    const since = await history.read('since', 0, newest, 100);
    const snapshot = (await node('enc-late', redis.url)).delivered;
    vi.restoreAllMocks();

    expect(counts).toEqual({ 'JSON.parse': 0, 'JSON.stringify': 0, 'MessagePack writer': 0 });
    const tilesRead = [...map.frames, ...since.frames];
    expect(since.frames.length).toBeGreaterThanOrEqual(6);
    expect(map.frames.length).toBe(6);
    // Byte for byte what one node sends, in every format, whatever path the frame took.
    let compared = 0;
    for (const frame of [...a.delivered, ...b.delivered, ...d.delivered, ...tilesRead, ...snapshot]) {
      const expected = singleNode(frame);
      const same = frame.json.equals(expected.json) && frame.msgpack.equals(expected.msgpack) && frame.legacy.equals(expected.legacy);
      expect(same, `${frame.kind} ${frame.camera}#${frame.seq} (timestamp ${frame.timestamp})`).toBe(true);
      compared++;
    }
    expect(compared).toBeGreaterThan(40);
    // The paths were taken: node D renumbered a tile it caught up on (its provisional one had
    // that seq), and republished its own camera state with a seq from Redis.
    const seqOn = (n: { delivered: ReadyFrame[] }, frame: ReadyFrame) => n.delivered.filter((f) => f.timestamp === frame.timestamp).map((f) => f.seq);
    expect(meanwhile.filter((frame) => frame.kind === 'tile' && seqOn(d, frame)[0] !== seqOn(b, frame)[0]).length).toBeGreaterThan(0);
    expect(seqOn(d, whileFrozen[0]!).length).toBe(2);
  });
});
