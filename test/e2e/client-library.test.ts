// wirecam/client against real server processes: both encodings, subscriptions, and a server
// killed and started again on the same port and store while the client is connected.
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { WirecamClient, type CameraUpdate, type StaleUpdate, type StateChange, type TileUpdate } from '../../src/client/node.js';
import { startServer, stopAllProcesses, stopProcess } from '../helpers/processes.js';
import { writeRowsFromAnotherProcess } from '../helpers/rows.js';
import { tempDir, removeTempDirs } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

const clients: WirecamClient[] = [];

function recorded(client: WirecamClient) {
  const log = { cameras: [] as CameraUpdate[], tiles: [] as TileUpdate[], stale: [] as StaleUpdate[], states: [] as StateChange[] };
  client.on('camera', (u) => log.cameras.push(u));
  client.on('tile', (t) => log.tiles.push(t));
  client.on('stale', (s) => log.stale.push(s));
  client.on('state', (s) => log.states.push(s));
  return log;
}

function open(options: ConstructorParameters<typeof WirecamClient>[0]) {
  const client = new WirecamClient({ reconnect: { initialDelayMs: 50, maxDelayMs: 400 }, ...options });
  clients.push(client);
  const log = recorded(client);
  client.connect();
  return { client, log };
}

afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  await stopAllProcesses();
});
afterAll(() => removeTempDirs());

describe('wirecam/client', () => {
  for (const encoding of ['msgpack', 'json'] as const) {
    it(`receives hello, the snapshot and live updates over ${encoding}`, async () => {
      const db = join(tempDir(), 'camera.db');
      const server = await startServer(['--db', db]);
      const first = await writeRowsFromAnotherProcess({ db, rows: [{ camera: 'main', x: 1, y: 2, zoom: 1.5, ts: 1_795_000_000_123 }] });
      const { client, log } = open({ url: server.url, cameras: ['main'], encoding });
      const hello = await client.next('hello');
      expect(hello).toMatchObject({ encoding, cameras: ['main'], max_hz: 60 });
      expect(client.encoding).toBe(encoding);
      await waitFor(() => log.cameras.length >= 1, 'the snapshot');
      // Integers above 2^32 stay numbers (not BigInt) in MessagePack.
      expect(log.cameras[0]).toEqual({
        type: 'camera_update', camera: 'main', seq: first.lastId, x: 1, y: 2, zoom: 1.5, target_x: 1, target_y: 2, target_zoom: 1.5, timestamp: 1_795_000_000_123,
      });
      const { lastId, lastTileId } = await writeRowsFromAnotherProcess({
        db,
        rows: [
          { camera: 'main', x: 5, y: 6, zoom: 2, target_x: 7 },
          { camera: 'other', x: 0, y: 0, zoom: 1 },
          { table: 'tile_updates', x: 3, y: -7, brick: 'stone.png' },
        ],
      });
      await waitFor(() => client.latest('main')?.x === 5 && log.tiles.length === 1, 'the live update and the tile');
      expect(client.latest('main')).toMatchObject({ seq: lastId - 1, x: 5, target_x: 7, target_y: 6 });
      expect(log.tiles[0]).toMatchObject({ seq: lastTileId, x: 3, y: -7, brick: 'stone.png' });
      expect(client.latest('other')).toBeUndefined();
      await stopProcess(server);
    });
  }

  it('falls back to JSON when the preferred encoding cannot be decoded here', async () => {
    const server = await startServer(['--db', join(tempDir(), 'a.db')]);
    const { client } = open({ url: server.url, msgpack: null });
    const opened = await client.next('open');
    expect(opened).toEqual({ encoding: 'json', legacy: false });
    expect(() => new WirecamClient({ url: server.url, encoding: 'msgpack', msgpack: null })).toThrow(/MessagePack codec/);
    await stopProcess(server);
  });

  it('replaces its subscription, and gets the snapshot of the cameras it adds', async () => {
    const db = join(tempDir(), 'sub.db');
    const server = await startServer(['--db', db]);
    const { lastId } = await writeRowsFromAnotherProcess({ db, rows: [{ camera: 'b', x: 9, y: 9, zoom: 1 }] });
    const { client, log } = open({ url: server.url, cameras: ['a'], maxHz: 10 });
    await client.next('hello');
    expect(log.cameras).toEqual([]);
    client.subscribe(['a', 'b']);
    await waitFor(() => client.latest('b')?.seq === lastId, "camera b's snapshot");
    await stopProcess(server);
  });

  it('reconnects to a restarted server, asks again for its cameras, and resumes without going back', async () => {
    const db = join(tempDir(), 'restart.db');
    const first = await startServer(['--db', db]);
    const { client, log } = open({ url: first.url, cameras: ['main'] });
    await client.next('hello');
    client.subscribe(['main', 'side']);
    const before = await writeRowsFromAnotherProcess({
      db,
      rows: [
        { camera: 'main', x: 1, y: 1, zoom: 1 },
        { camera: 'side', x: 2, y: 2, zoom: 1 },
        { camera: 'main', x: 3, y: 3, zoom: 1 },
      ],
    });
    await waitFor(() => client.latest('main')?.seq === before.lastId, 'the last row before the restart');

    await stopProcess(first, 'SIGKILL');
    await waitFor(() => client.state === 'reconnecting', 'the client to notice');
    // Nobody listens for a while: attempts fail and the delay grows.
    await waitFor(() => log.states.filter((s) => s.state === 'reconnecting').length >= 3, 'a few failed attempts', 10_000);
    const delays = log.states.filter((s) => s.state === 'reconnecting').map((s) => s.delayMs!);
    expect(delays.every((d) => d >= 0 && d <= 400)).toBe(true);
    expect(log.states.filter((s) => s.state === 'reconnecting').map((s) => s.attempt)).toEqual(
      [...Array(delays.length).keys()].map((i) => i + 1),
    );

    const second = await startServer(['--db', db, '--port', String(first.port)]);
    const hello = await client.next('hello');
    expect(hello.cameras).toEqual(['main', 'side']);
    expect(client.connectionCount).toBe(2);
    // The snapshot repeats what the client has: discarded, not delivered again.
    await waitFor(() => log.stale.some((s) => s.message.type === 'camera_update' && s.message.seq === before.lastId), 'the repeated snapshot to be discarded');
    const after = await writeRowsFromAnotherProcess({ db, rows: [{ camera: 'main', x: 4, y: 4, zoom: 1 }] });
    expect(after.lastId).toBeGreaterThan(before.lastId); // AUTOINCREMENT: seqs go on after a restart
    await waitFor(() => client.latest('main')?.seq === after.lastId, 'the first row after the restart');

    const mainSeqs = log.cameras.filter((u) => u.camera === 'main').map((u) => u.seq);
    expect(mainSeqs).toEqual([...mainSeqs].sort((a, b) => a - b));
    expect(new Set(mainSeqs).size).toBe(mainSeqs.length);
    expect(mainSeqs.at(-1)).toBe(after.lastId);
    expect(log.cameras.filter((u) => u.camera === 'side').map((u) => u.seq)).toEqual([before.lastId - 1]);
    await stopProcess(second);
  });

  it('keeps its map across a server restart: resumes from its last tile, recovered, not rebuilt', async () => {
    const db = join(tempDir(), 'map.db');
    // A store that already holds a map when the server starts (the schema made by a first start).
    await stopProcess(await startServer(['--db', db]));
    await writeRowsFromAnotherProcess({ db, burst: { count: 300, perTransaction: 100, tiles: true, coordinates: 100 } });
    const first = await startServer(['--db', db]);
    const { client, log } = open({ url: first.url, tiles: 'map', encoding: 'json', msgpack: null });
    const statuses: Array<{ recovered: boolean; resumed: boolean }> = [];
    client.on('map', (status) => statuses.push(status));
    const firstHello = await client.next('hello');
    await waitFor(() => log.tiles.length === 100, 'the map: 100 coordinates');
    expect(statuses).toEqual([expect.objectContaining({ recovered: false, resumed: false })]);
    await waitFor(() => client.tileResumePoint?.seq === firstHello.tile_seq, 'the map to be complete');

    await stopProcess(first, 'SIGKILL');
    await waitFor(() => client.state === 'reconnecting', 'the client to notice');
    // Tiles written while the server is down: the client must get them after the restart.
    const missed = await writeRowsFromAnotherProcess({ db, burst: { count: 40, perTransaction: 40, tiles: true, coordinates: 100 } });
    const second = await startServer(['--db', db, '--port', String(first.port)]);
    const status = await client.next('map');
    expect(status).toMatchObject({ recovered: true, resumed: true, epoch: firstHello.epoch });
    await waitFor(() => log.tiles.at(-1)?.seq === missed.lastTileId, 'the tiles written while it was down');
    // Only the 40 missed tiles came on top of the map: nothing rebuilt, nothing repeated.
    expect(log.tiles).toHaveLength(140);
    expect(log.tiles.slice(100).map((t) => t.seq)).toEqual(Array.from({ length: 40 }, (_, i) => firstHello.tile_seq + 1 + i));
    expect(client.tileResumePoint).toEqual({ epoch: firstHello.epoch, seq: missed.lastTileId });
    await stopProcess(second);
  });

  it('stays closed after close(), and gives up at once with reconnect: false', async () => {
    const server = await startServer(['--db', join(tempDir(), 'close.db')]);
    const { client, log } = open({ url: server.url, reconnect: false });
    await client.next('hello');
    await stopProcess(server, 'SIGKILL');
    await waitFor(() => client.state === 'closed', 'the client to close');
    expect(log.states.some((s) => s.state === 'reconnecting')).toBe(false);
  });
});
