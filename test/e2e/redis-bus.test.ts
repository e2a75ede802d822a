// The Redis bus against a real redis-server, in this process: the Lua script fills in seqs
// to exactly the bytes the JavaScript encoder gives (once framed by the receiving node), nodes receive each other's updates once
// (never their own back), and tiles published concurrently by two nodes reach each of them
// complete and in seq order.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { cameraUpdateMessage, encodeFramedSet, tileUpdateMessage } from '../../src/protocol/encode.js';
import type { ReadyFrame } from '../../src/protocol/ready-frame.js';
import { createLogger } from '../../src/log.js';
import { RedisBus } from '../../src/bus/redis/redis-bus.js';
import { decodeEnvelope, envelopeMeta, frameOfEnvelope } from '../../src/bus/redis/envelope.js';
import { defineScripts, queuePublish, REDIS_NAMES } from '../../src/bus/redis/scripts.js';
import { seqHeadsAndTails } from '../../src/bus/redis/seq-template.js';
import { messageOfFrame, templatedFrame } from '../helpers/frames.js';
import { stopAllProcesses } from '../helpers/processes.js';
import { freePort, redisAvailable, redisClient, startRedis, stopRedis, type RedisServer } from '../helpers/redis.js';
import { waitFor } from '../helpers/wait.js';

const available = redisAvailable('the Redis bus tests');
const TS = 1_795_000_000_123;
const log = createLogger('silent');

let redis: RedisServer;
const connections: Redis[] = [];
const buses: RedisBus[] = [];

beforeAll(async () => {
  if (available) redis = await startRedis();
});

afterAll(async () => {
  await Promise.all(buses.map((bus) => bus.stop()));
  for (const connection of connections) connection.disconnect();
  await stopAllProcesses();
});

function client(): Redis {
  const connection = redisClient(redis.url);
  connections.push(connection);
  return connection;
}

/** A bus as a node runs it, with everything it hands to its graph recorded. */
async function node(nodeId: string): Promise<{ bus: RedisBus; delivered: ReadyFrame[] }> {
  const bus = new RedisBus({ url: redis.url, nodeId, log });
  buses.push(bus);
  await bus.snapshot([]);
  const delivered: ReadyFrame[] = [];
  bus.frames.subscribe((frames) => delivered.push(...frames));
  return { bus, delivered };
}

function cameraFrame(camera: string, localSeq: number, x: number): ReadyFrame {
  const message = cameraUpdateMessage(localSeq, { camera, x, y: 0, zoom: 1, target_x: null, target_y: null, target_zoom: null, timestamp: TS + x });
  return templatedFrame(message);
}

function tileFrame(localSeq: number, x: number): ReadyFrame {
  const message = tileUpdateMessage(localSeq, { x, y: 0, brick: `b${x}`, timestamp: TS });
  return templatedFrame(message);
}

describe.skipIf(!available)('the Redis bus', () => {
  it('fills seqs in Lua to exactly the frames the JavaScript encoder gives', async () => {
    const connection = client();
    defineScripts(connection);
    const subscriber = client();
    const tiles: Buffer[] = [];
    await subscriber.subscribe(REDIS_NAMES.tileChannel);
    subscriber.on('messageBuffer', (_channel: Buffer, message: Buffer) => tiles.push(message));
    const camera = cameraUpdateMessage(1, { camera: 'lua', x: 0.1, y: -7, zoom: 3, target_x: 2, target_y: null, target_zoom: null, timestamp: TS });
    const tile = tileUpdateMessage(1, { x: -1, y: 2, brick: 'q'.repeat(70_000), timestamp: TS });
    const seqs = [1, 127, 128, 255, 256, 65_535, 65_536, 4_294_967_295, 4_294_967_296, 2 ** 50 + 3];
    for (const seq of seqs) {
      await connection.set(REDIS_NAMES.cameraSeq('lua'), String(seq - 1));
      await connection.set(REDIS_NAMES.tileSeq, String(seq - 1));
      const pipeline = connection.pipeline();
      for (const [kind, message] of [['camera', camera], ['tile', tile]] as const) {
        queuePublish(pipeline, {
          mode: 'live', kind, camera: kind === 'camera' ? 'lua' : '', timestamp: TS, floor: 0,
          meta: envelopeMeta({ timestamp: TS, origin: 0, flags: 0, node: 'lua-test', camera: kind === 'camera' ? 'lua' : '', coordinate: kind === 'camera' ? '' : '-1,2' }),
          ...seqHeadsAndTails(templatedFrame(message)),
        });
      }
      const results = await pipeline.exec();
      expect(results!.map(([error, reply]) => [error, reply])).toEqual([[null, [seq, 1]], [null, [seq, 1]]]);
      const stored = decodeEnvelope((await connection.hgetBuffer(REDIS_NAMES.states, 'lua'))!);
      const expected = encodeFramedSet({ ...camera, seq });
      expect(stored).toMatchObject({ kind: 'camera', seq, timestamp: TS, node: 'lua-test', camera: 'lua' });
      const storedFrame = frameOfEnvelope(stored, 'another-node');
      expect(storedFrame.json.equals(expected.json) && storedFrame.msgpack.equals(expected.msgpack) && storedFrame.legacy.equals(expected.legacy), `camera seq ${seq}`).toBe(true);
      const published = decodeEnvelope(await waitFor(() => tiles.shift(), `tile ${seq}`));
      const expectedTile = encodeFramedSet({ ...tile, seq });
      expect(published.seq).toBe(seq);
      const publishedFrame = frameOfEnvelope(published, 'another-node');
      expect(publishedFrame.json.equals(expectedTile.json) && publishedFrame.msgpack.equals(expectedTile.msgpack) && publishedFrame.legacy.equals(expectedTile.legacy), `tile seq ${seq}`).toBe(true);
    }
    // 'resync' refuses a state older than the one stored, 'live' never does.
    const older = {
      kind: 'camera' as const, camera: 'lua', timestamp: TS - 1, floor: 0, meta: envelopeMeta({ timestamp: TS - 1, origin: 0, flags: 0, node: 'lua-test', camera: 'lua', coordinate: '' }), ...seqHeadsAndTails(templatedFrame(camera)),
    };
    const last = seqs.at(-1)!;
    const pipeline = connection.pipeline();
    queuePublish(pipeline, { mode: 'resync', ...older });
    queuePublish(pipeline, { mode: 'live', ...older });
    expect((await pipeline.exec())!.map(([, reply]) => reply)).toEqual([[last, 0], [last + 1, 1]]);
  });

  it('delivers each update once on every node, with the seq Redis assigned, never echoing a node its own', async () => {
    const a = await node('bus-a');
    const b = await node('bus-b');
    a.bus.publish([cameraFrame('shared', 500, 1), cameraFrame('shared', 501, 2)]);
    b.bus.publish([cameraFrame('shared', 7, 3)]);
    const last = (delivered: ReadyFrame[]) => delivered.filter((f) => f.camera === 'shared').at(-1);
    await waitFor(() => last(a.delivered)?.seq === 3 && last(b.delivered)?.seq === 3, 'both nodes on seq 3');
    for (const { delivered } of [a, b]) {
      const seqs = delivered.filter((f) => f.camera === 'shared').map((f) => f.seq);
      // Strictly increasing, each at most once (local row ids 500, 501, 7 are gone).
      expect(seqs).toEqual([...new Set(seqs)].sort((x, y) => x - y));
      expect(messageOfFrame(last(delivered)!.json)).toMatchObject({ seq: 3, x: 3 });
    }
    expect(a.bus.state()).toEqual({ state: 'ok', detail: null });
    // A node started now takes the same states as its snapshot.
    const late = new RedisBus({ url: redis.url, nodeId: 'bus-late', log });
    buses.push(late);
    const snapshot = await late.snapshot([cameraFrame('only-here', 1, 9)]);
    expect(snapshot.map((f) => `${f.camera}#${f.seq}`)).toEqual(expect.arrayContaining(['only-here#1', 'shared#3']));
    await waitFor(() => a.delivered.some((f) => f.camera === 'only-here'), 'the late node\'s own camera to reach the others');
  });

  it('starts on its own store while Redis is away, serves provisionally, then joins without going back', async () => {
    const port = await freePort();
    const bus = new RedisBus({ url: `redis://127.0.0.1:${port}`, nodeId: 'redis-later', log, startWaitMs: 300 });
    buses.push(bus);
    // Its store's latest row (id 40) is all it has.
    expect((await bus.snapshot([cameraFrame('boot', 40, 1)])).map((f) => f.seq)).toEqual([40]);
    expect(bus.state().state).toBe('degraded');
    const delivered: ReadyFrame[] = [];
    bus.frames.subscribe((frames) => delivered.push(...frames));
    bus.publish([cameraFrame('boot', 57, 2)]);
    await waitFor(() => delivered.at(-1)?.seq === 41, 'the update with a provisional seq (the last seq + 1)');

    const late = await startRedis(port);
    await waitFor(() => bus.state().state === 'ok', 'the bus to join Redis', 10_000);
    const connection = redisClient(late.url);
    connections.push(connection);
    const stored = decodeEnvelope((await connection.hgetBuffer(REDIS_NAMES.states, 'boot'))!);
    // Republished above every seq its clients saw, and delivered with that seq.
    expect(stored.seq).toBeGreaterThan(41);
    expect(messageOfFrame(frameOfEnvelope(stored, 'another-node').json)).toMatchObject({ camera: 'boot', x: 2, seq: stored.seq });
    expect(delivered.at(-1)?.seq).toBe(stored.seq);
    await stopRedis(late);
  });

  it('keeps tiles from two nodes publishing at once complete and in seq order on each', async () => {
    const a = await node('tiles-a');
    const b = await node('tiles-b');
    const before = Number((await client().get(REDIS_NAMES.tileSeq)) ?? 0);
    const perNode = 400;
    for (let i = 0; i < perNode; i += 10) {
      a.bus.publish(Array.from({ length: 10 }, (_, k) => tileFrame(i + k + 1, i + k)));
      b.bus.publish(Array.from({ length: 10 }, (_, k) => tileFrame(i + k + 1, 10_000 + i + k)));
    }
    const mine = (delivered: ReadyFrame[]) => delivered.filter((f) => f.kind === 'tile' && f.seq > before).map((f) => f.seq);
    await waitFor(() => mine(a.delivered).length === 2 * perNode && mine(b.delivered).length === 2 * perNode, 'every tile on both nodes', 20_000);
    const all = Array.from({ length: 2 * perNode }, (_, i) => before + i + 1);
    expect(mine(a.delivered)).toEqual(all);
    expect(mine(b.delivered)).toEqual(all);
  });
});
