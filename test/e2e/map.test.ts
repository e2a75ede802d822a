// The map and recovery (docs/protocol.md section 9): tiles=map for late joiners, resume after a
// dropped connection, and recovered: false (with a full map when asked) whenever the
// client's tiles cannot be trusted: another epoch, a pruned horizon, a replaced store file.
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { copyFileSync, existsSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, stopAllProcesses, stopProcess, type ServerProcess } from '../helpers/processes.js';
import { connect, closeAllClients, type Message, type TestClient } from '../helpers/clients.js';
import { writeRowsFromAnotherProcess } from '../helpers/rows.js';
import { queryStore } from '../helpers/store.js';
import { tempDir, removeTempDirs } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

afterEach(async () => {
  closeAllClients();
  await stopAllProcesses();
});
afterAll(() => removeTempDirs());

const JSON_V1 = ['wirecam.v1.json'];

async function hello(client: TestClient): Promise<Message> {
  return client.waitForMessage((m) => m.type === 'hello', 'hello');
}

function tilesOf(client: TestClient): Message[] {
  return client.ofType('tile_update');
}

/** Each coordinate's latest tile with seq <= upTo, in seq order, as the store holds it. */
function latestPerCoordinate(db: string, upTo: number): number[] {
  return queryStore<{ id: number }>(
    db,
    'SELECT MAX(id) AS id FROM tile_updates WHERE id <= ? GROUP BY x, y ORDER BY id',
    upTo,
  ).map((row) => row.id);
}

function strictlyIncreasing(seqs: readonly number[]): boolean {
  for (let i = 1; i < seqs.length; i++) if (seqs[i]! <= seqs[i - 1]!) return false;
  return true;
}

async function refusal(url: string, query: string): Promise<{ status: number; body: string }> {
  const error = await connect(url, { protocols: JSON_V1, query }).then(
    () => null,
    (e: { status: number; body: string }) => e,
  );
  if (error === null) throw new Error(`${query} was accepted`);
  return { status: error.status, body: error.body };
}

describe('tiles=map', () => {
  it('sends exactly the latest tile of each of 2,000 coordinates (10,000 rows), in seq order, before any live tile, while another client keeps its camera rate', async () => {
    const db = join(tempDir(), 'camera.db');
    const server0 = await startServer(['--db', db]);
    await stopProcess(server0);
    await writeRowsFromAnotherProcess({ db, burst: { count: 10_000, perTransaction: 1000, tiles: true, coordinates: 2000 } });
    const server = await startServer(['--db', db]);

    // A second client follows a camera written at 50 Hz by another process during the map.
    const watcher = await connect(server.url, { protocols: JSON_V1, query: 'camera=main' });
    const camera = writeRowsFromAnotherProcess({ db, burst: { camera: 'main', count: 100, perTransaction: 1, rateHz: 50 } });
    await waitFor(() => watcher.cameraUpdates().length >= 10, 'the camera to be live');
    // Live tiles keep coming while the map is sent.
    const live = writeRowsFromAnotherProcess({ db, burst: { count: 300, perTransaction: 1, rateHz: 300, tiles: true, coordinates: 50 } });
    const late = await connect(server.url, { protocols: JSON_V1, query: 'camera=main&tiles=map' });
    const greeting = await hello(late);
    const upTo = greeting.tile_seq as number;
    expect(greeting).toMatchObject({ type: 'hello', recovered: false });
    expect(upTo).toBeGreaterThanOrEqual(10_000);
    const { lastTileId } = await live;
    await camera;
    await waitFor(() => tilesOf(late).at(-1)?.seq === lastTileId, 'the last live tile', 20_000);

    const seqs = tilesOf(late).map((m) => m.seq as number);
    const expectedMap = latestPerCoordinate(db, upTo);
    expect(expectedMap.length).toBe(upTo === 10_000 ? 2000 : expectedMap.length);
    const mapPart = seqs.filter((seq) => seq <= upTo);
    expect(mapPart).toEqual(expectedMap);
    // Every live tile after the map, each once, in order: nothing lost, duplicated or reordered.
    expect(seqs.slice(mapPart.length)).toEqual(queryStore<{ id: number }>(db, 'SELECT id FROM tile_updates WHERE id > ? ORDER BY id', upTo).map((r) => r.id));
    expect(strictlyIncreasing(seqs)).toBe(true);
    // The map first, then the camera snapshot: hello, map tiles, then the rest.
    const firstCamera = late.messages.findIndex((m) => m.type === 'camera_update');
    expect(late.messages.slice(1, 1 + mapPart.length).every((m) => m.type === 'tile_update')).toBe(true);
    expect(firstCamera).toBeGreaterThan(mapPart.length);

    // The other client's camera kept its rate: no gap near the map's time.
    const times = watcher.received.filter((r) => r.message.type === 'camera_update').map((r) => r.at);
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    expect(watcher.cameraUpdates().length).toBeGreaterThanOrEqual(90);
    expect(Math.max(...gaps)).toBeLessThan(500);
  });

  it('gives no tiles at all with tiles=none, and legacy clients live tiles only', async () => {
    const db = join(tempDir(), 'camera.db');
    const server = await startServer(['--db', db]);
    await writeRowsFromAnotherProcess({ db, burst: { count: 20, perTransaction: 20, tiles: true } });
    const none = await connect(server.url, { protocols: JSON_V1, query: 'tiles=none' });
    const legacy = await connect(server.url, { query: 'tiles=map' });
    const live = await connect(server.url, { protocols: JSON_V1 });
    await hello(none);
    const { lastTileId } = await writeRowsFromAnotherProcess({ db, rows: [{ table: 'tile_updates', x: 1, y: 1, brick: 'b' }] });
    await live.waitForMessage((m) => m.type === 'tile_update' && m.seq === lastTileId, 'the live tile');
    await legacy.waitForMessage((m) => m.type === 'tile_update' && m.seq === lastTileId, 'the live tile (legacy)');
    expect(tilesOf(legacy).map((m) => m.seq)).toEqual([lastTileId]);
    expect(tilesOf(none)).toEqual([]);
  });

  it('refuses malformed tiles, tiles_since and epoch values with HTTP 400 and a one-line reason', async () => {
    const db = join(tempDir(), 'camera.db');
    const server = await startServer(['--db', db]);
    for (const query of ['tiles=all', 'tiles=', 'epoch=abc&tiles_since=-1', 'epoch=abc&tiles_since=1.5', 'epoch=abc&tiles_since=x', 'epoch=abc', 'tiles_since=4', 'epoch=a%20b&tiles_since=1', 'epoch=abc&tiles_since=99999999999999999']) {
      const { status, body } = await refusal(server.url, query);
      expect(status, query).toBe(400);
      expect(body.trim().split('\n'), query).toHaveLength(1);
      expect(body, query).toMatch(/tiles|epoch/);
    }
  });
});

describe('resume: epoch and tiles_since', () => {
  it('after a drop during which 500 tiles were written: all 500, in order, nothing it had, recovered: true, then the snapshot and live', async () => {
    const db = join(tempDir(), 'camera.db');
    const server = await startServer(['--db', db]);
    await writeRowsFromAnotherProcess({ db, rows: [{ camera: 'main', x: 5, y: 5, zoom: 1 }] });
    const first = await connect(server.url, { protocols: JSON_V1 });
    // Stays connected: it shows when the server has read the tiles written meanwhile.
    const witness = await connect(server.url, { protocols: JSON_V1, query: 'tiles=live' });
    const { epoch } = await hello(first);
    const before = await writeRowsFromAnotherProcess({ db, burst: { count: 100, perTransaction: 10, tiles: true, coordinates: 30 } });
    await waitFor(() => tilesOf(first).at(-1)?.seq === before.lastTileId, 'the first 100 tiles');
    const had = tilesOf(first).map((m) => m.seq as number);
    first.close();

    const missed = await writeRowsFromAnotherProcess({ db, burst: { count: 500, perTransaction: 50, tiles: true, coordinates: 30 } });
    await witness.waitForMessage((m) => m.type === 'tile_update' && m.seq === missed.lastTileId, 'the server to read them');
    const started = Date.now();
    const again = await connect(server.url, { protocols: JSON_V1, query: `epoch=${epoch}&tiles_since=${had.at(-1)}` });
    const greeting = await hello(again);
    expect(greeting).toMatchObject({ epoch, recovered: true, tile_seq: missed.lastTileId });
    await waitFor(() => tilesOf(again).at(-1)?.seq === missed.lastTileId, 'the 500 missed tiles');
    const resumeMs = Date.now() - started;
    const got = tilesOf(again).map((m) => m.seq as number);
    expect(got).toHaveLength(500);
    expect(got).toEqual(Array.from({ length: 500 }, (_, i) => had.at(-1)! + 1 + i));
    expect(got.some((seq) => had.includes(seq))).toBe(false);
    // Then the camera snapshot, then live.
    await again.waitForMessage((m) => m.type === 'camera_update', 'the camera snapshot');
    const snapshotAt = again.messages.findIndex((m) => m.type === 'camera_update');
    expect(snapshotAt).toBe(501);
    const next = await writeRowsFromAnotherProcess({ db, rows: [{ table: 'tile_updates', x: 9, y: 9, brick: 'after' }] });
    await again.waitForMessage((m) => m.type === 'tile_update' && m.seq === next.lastTileId, 'a live tile after the resume');
    expect(strictlyIncreasing(tilesOf(again).map((m) => m.seq as number))).toBe(true);
    console.log(`resume of 500 tiles: ${resumeMs} ms from connect to the last missed tile`);
  });

  it('with a wrong epoch: recovered: false, and the full map when asked', async () => {
    const db = join(tempDir(), 'camera.db');
    const server = await startServer(['--db', db]);
    const { lastTileId } = await writeRowsFromAnotherProcess({ db, burst: { count: 200, perTransaction: 200, tiles: true, coordinates: 40 } });
    await waitFor(async () => (await hello(await connect(server.url, { protocols: JSON_V1 }))).tile_seq === lastTileId, 'the tiles to be read');
    const withMap = await connect(server.url, { protocols: JSON_V1, query: `epoch=0123456789abcdef&tiles_since=150&tiles=map` });
    expect(await hello(withMap)).toMatchObject({ recovered: false });
    await waitFor(() => tilesOf(withMap).length >= 40, 'the map');
    expect(tilesOf(withMap).map((m) => m.seq)).toEqual(latestPerCoordinate(db, lastTileId));
    const withoutMap = await connect(server.url, { protocols: JSON_V1, query: `epoch=0123456789abcdef&tiles_since=150` });
    expect(await hello(withoutMap)).toMatchObject({ recovered: false });
    const live = await writeRowsFromAnotherProcess({ db, rows: [{ table: 'tile_updates', x: 0, y: 0, brick: 'live' }] });
    await withoutMap.waitForMessage((m) => m.type === 'tile_update', 'a live tile');
    expect(tilesOf(withoutMap).map((m) => m.seq)).toEqual([live.lastTileId]);
  });

  it("below retention's pruned horizon: recovered: false (kept across a restart, like the epoch)", async () => {
    const db = join(tempDir(), 'camera.db');
    const server0 = await startServer(['--db', db]);
    const { epoch } = await hello(await connect(server0.url, { protocols: JSON_V1 }));
    await stopProcess(server0);
    await writeRowsFromAnotherProcess({ db, burst: { count: 300, perTransaction: 300, tiles: true, coordinates: 300 } });
    // Retention keeps 100 tile rows: seqs up to 200 go, at start.
    let server = await startServer(['--db', db, '--retain-rows', '100']);
    await waitFor(() => queryStore<{ n: number }>(db, 'SELECT COUNT(*) AS n FROM tile_updates')[0]!.n === 100, 'retention to prune');
    const resumeAt = async (since: number) => hello(await connect(server.url, { protocols: JSON_V1, query: `epoch=${epoch}&tiles_since=${since}&tiles=map` }));
    await waitFor(async () => (await resumeAt(150)).recovered === false, 'the horizon to be known');
    const below = await connect(server.url, { protocols: JSON_V1, query: `epoch=${epoch}&tiles_since=150&tiles=map` });
    expect(await hello(below)).toMatchObject({ epoch, recovered: false });
    await waitFor(() => tilesOf(below).length === 100, 'the full map (what the store holds)');
    expect(await resumeAt(200)).toMatchObject({ recovered: true });
    // After a restart: same epoch, same horizon.
    closeAllClients();
    await stopProcess(server);
    server = await startServer(['--db', db, '--retain-rows', '0']);
    expect(await resumeAt(150)).toMatchObject({ epoch, recovered: false });
    const above = await connect(server.url, { protocols: JSON_V1, query: `epoch=${epoch}&tiles_since=250` });
    expect(await hello(above)).toMatchObject({ epoch, recovered: true });
    await waitFor(() => tilesOf(above).length === 50, 'the 50 tiles after 250');
    expect(tilesOf(above).map((m) => m.seq)).toEqual(Array.from({ length: 50 }, (_, i) => 251 + i));
  });

  it('after the store file was replaced: a new epoch, recovered: false, and the new file\'s map when asked', async () => {
    const dir = tempDir();
    const db = join(dir, 'camera.db');
    const other = join(dir, 'other.db');
    const server = await startServer(['--db', db, '--retain-rows', '0']);
    const first = await connect(server.url, { protocols: JSON_V1 });
    const { epoch } = await hello(first);
    const { lastTileId } = await writeRowsFromAnotherProcess({ db, burst: { count: 50, perTransaction: 50, tiles: true } });
    await waitFor(() => tilesOf(first).at(-1)?.seq === lastTileId, 'the tiles');
    first.close();
    // Another store (a backup, a producer's own) takes the path.
    const seed = await startServer(['--db', other]);
    await stopProcess(seed);
    await writeRowsFromAnotherProcess({ db: other, burst: { count: 30, perTransaction: 30, tiles: true, coordinates: 10 } });
    copyFileSync(other, `${db}.new`);
    // Its predecessor's WAL removed first, as replacing a WAL-mode SQLite file requires.
    for (const suffix of ['-wal', '-shm']) if (existsSync(`${db}${suffix}`)) rmSync(`${db}${suffix}`);
    renameSync(`${db}.new`, db);
    await waitFor(() => server.logs().some((l) => l.msg === 'store sequence space was reset' && l.cause === 'file_replaced'), 'the replacement to be noticed');
    const again = await connect(server.url, { protocols: JSON_V1, query: `epoch=${epoch}&tiles_since=${lastTileId}&tiles=map` });
    const greeting = await hello(again);
    expect(greeting.recovered).toBe(false);
    expect(greeting.epoch).not.toBe(epoch);
    await waitFor(() => tilesOf(again).length >= 10, "the new file's map");
    expect(tilesOf(again).map((m) => m.brick)).toEqual(Array.from({ length: 10 }, (_, i) => `brick-${20 + i}`));
  });
});
