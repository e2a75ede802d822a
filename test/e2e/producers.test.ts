// WebSocket producers (docs/protocol.md sections 4 and 5): a token makes a connection a producer;
// its updates are stored durably, acknowledged with the stored seq, and broadcast to everyone
// but itself. Without a token, updates are refused and nothing is stored.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { encode } from '@msgpack/msgpack';
import { startServer, stopAllProcesses, type ServerProcess } from '../helpers/processes.js';
import { connect, closeAllClients } from '../helpers/clients.js';
import { tempDir, removeTempDirs } from '../helpers/tmp.js';
import { queryStore, countRows } from '../helpers/store.js';
import { waitFor } from '../helpers/wait.js';

const TOKEN = 'producer-secret-1';
let server: ServerProcess;
let db: string;

beforeAll(async () => {
  db = join(tempDir(), 'camera.db');
  // A fast producer below is meant to be fast: the per-connection rate limit is tested apart.
  server = await startServer(['--db', db, '--max-producer-rate', '1000000'], { WIRECAM_PRODUCER_TOKEN: TOKEN });
});
afterEach(() => closeAllClients());
afterAll(async () => {
  await stopAllProcesses();
  removeTempDirs();
});

describe('producers', () => {
  it('stores, acknowledges and broadcasts an update, but does not echo it to its sender', async () => {
    const viewer = await connect(server.url, { protocols: ['wirecam.v1.msgpack'], query: 'camera=prod' });
    const legacy = await connect(server.url, { query: 'camera=prod' });
    const producer = await connect(server.url, {
      protocols: ['wirecam.v1.json'],
      query: 'camera=prod',
      headers: { Authorization: `Bearer ${TOKEN}` },
    });
    expect(producer.messages[0] ?? (await producer.waitForMessage((m) => m.type === 'hello', 'hello'))).toMatchObject({ role: 'producer' });
    producer.sendJson({ type: 'camera_update', camera: 'prod', x: 10.5, y: -2, zoom: 3, target_x: 11, timestamp: 1_795_000_000_999 });
    const ack = await producer.waitForMessage((m) => m.type === 'ack', 'an ack');
    const seq = ack.seq as number;
    expect(Number.isInteger(seq)).toBe(true);
    // Stored before it was acknowledged, with the values sent.
    expect(queryStore(db, 'SELECT camera, x, y, zoom, target_x, target_y, target_zoom, ts FROM camera_updates WHERE id = ?', seq)).toEqual([
      { camera: 'prod', x: 10.5, y: -2, zoom: 3, target_x: 11, target_y: null, target_zoom: null, ts: 1_795_000_000_999 },
    ]);
    const expected = {
      type: 'camera_update', camera: 'prod', seq, x: 10.5, y: -2, zoom: 3, target_x: 11, target_y: -2, target_zoom: 3, timestamp: 1_795_000_000_999,
    };
    expect(await viewer.waitForMessage((m) => m.type === 'camera_update' && m.seq === seq, 'broadcast (msgpack)')).toEqual(expected);
    // Legacy JSON mode: integer Unix seconds (docs/protocol.md section 4).
    expect(await legacy.waitForMessage((m) => m.type === 'camera_update' && m.seq === seq, 'broadcast (legacy)')).toEqual({ ...expected, timestamp: 1_795_000_000 });
    // A later row lets us know the producer would have seen its own update by now.
    const other = await connect(server.url, { protocols: ['wirecam.v1.json'], headers: { Authorization: `Bearer ${TOKEN}` } });
    other.sendJson({ type: 'camera_update', camera: 'prod', x: 1, y: 1, zoom: 1 });
    const otherAck = await other.waitForMessage((m) => m.type === 'ack', 'second ack');
    await producer.waitForMessage((m) => m.type === 'camera_update' && m.seq === otherAck.seq, 'the other producer’s update');
    expect(producer.cameraUpdates('prod').filter((m) => m.seq === seq)).toEqual([]);
  });

  it('takes the token from the query string too, and MessagePack updates with defaults filled in', async () => {
    const viewer = await connect(server.url, { protocols: ['wirecam.v1.json'] });
    const producer = await connect(server.url, { protocols: ['wirecam.v1.msgpack'], query: `token=${TOKEN}&camera=none` });
    const before = Date.now();
    producer.sendRaw(Buffer.from(encode({ type: 'camera_update', x: 4, y: 5, zoom: 0.5 })), true);
    const ack = await producer.waitForMessage((m) => m.type === 'ack', 'ack');
    const update = await viewer.waitForMessage((m) => m.type === 'camera_update' && m.seq === ack.seq, 'broadcast');
    expect(update).toMatchObject({ camera: 'main', x: 4, y: 5, zoom: 0.5, target_x: 4, target_y: 5, target_zoom: 0.5 });
    expect(update.timestamp as number).toBeGreaterThanOrEqual(before);
    expect(update.timestamp as number).toBeLessThanOrEqual(Date.now());
  });

  it('stores and broadcasts tile updates to every client, acknowledged with the tile seq', async () => {
    const viewer = await connect(server.url, { protocols: ['wirecam.v1.msgpack'], query: 'camera=elsewhere' });
    const producer = await connect(server.url, { protocols: ['wirecam.v1.json'], headers: { Authorization: `Bearer ${TOKEN}` } });
    producer.sendJson({ type: 'tile_update', x: 3, y: -9, brick: 'grass.png', timestamp: 1_795_000_000_000 });
    const ack = await producer.waitForMessage((m) => m.type === 'ack', 'ack');
    expect(await viewer.waitForMessage((m) => m.type === 'tile_update', 'tile')).toEqual({
      type: 'tile_update', seq: ack.seq, x: 3, y: -9, brick: 'grass.png', timestamp: 1_795_000_000_000,
    });
    expect(queryStore(db, 'SELECT x, y, brick FROM tile_updates WHERE id = ?', ack.seq)).toEqual([{ x: 3, y: -9, brick: 'grass.png' }]);
  });

  it('acknowledges every update of a fast producer, in order, each stored once', async () => {
    const producer = await connect(server.url, { protocols: ['wirecam.v1.msgpack'], headers: { Authorization: `Bearer ${TOKEN}` } });
    const before = countRows(db);
    for (let i = 0; i < 2000; i++) producer.sendRaw(Buffer.from(encode({ type: 'camera_update', camera: 'fast', x: i, y: 0, zoom: 1 })), true);
    await waitFor(() => producer.ofType('ack').length === 2000, '2000 acks', 20_000);
    const seqs = producer.ofType('ack').map((m) => m.seq as number);
    for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBeGreaterThan(seqs[i - 1]!);
    expect(countRows(db) - before).toBe(2000);
    const xs = queryStore<{ x: number }>(db, "SELECT x FROM camera_updates WHERE camera = 'fast' ORDER BY id").map((r) => r.x);
    expect(xs).toEqual(Array.from({ length: 2000 }, (_, i) => i));
  });

  it('refuses updates from a connection without a token, storing nothing', async () => {
    const viewer = await connect(server.url, { protocols: ['wirecam.v1.json'] });
    const before = countRows(db);
    viewer.sendJson({ type: 'camera_update', x: 1, y: 2, zoom: 1 });
    viewer.sendJson({ type: 'tile_update', x: 1, y: 2, brick: 'x' });
    await waitFor(() => viewer.ofType('error').length === 2, 'two errors');
    expect(viewer.ofType('error').map((m) => m.code)).toEqual(['unauthorized', 'unauthorized']);
    expect(countRows(db)).toBe(before);
  });

  it('refuses the upgrade (401) for a token that is not a producer token', async () => {
    await expect(connect(server.url, { headers: { Authorization: 'Bearer wrong' } })).rejects.toMatchObject({ status: 401 });
    await expect(connect(server.url, { query: 'token=wrong' })).rejects.toMatchObject({ status: 401 });
  });
});
