// Legacy JSON mode speaks camera_sync.rs's units (docs/protocol.md section 4, at the end): a
// Geometry-OS-like client compares tile timestamps with its map manifest's Unix seconds.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { startServer, stopAllProcesses, type ServerProcess } from '../helpers/processes.js';
import { connect, closeAllClients } from '../helpers/clients.js';
import { GeometryOsClient } from '../helpers/geometry-os-client.js';
import { writeRowsFromAnotherProcess } from '../helpers/rows.js';
import { tempDir, removeTempDirs } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

let server: ServerProcess;
let db: string;
const legacyClients: GeometryOsClient[] = [];

beforeAll(async () => {
  db = join(tempDir(), 'camera.db');
  server = await startServer(['--db', db, '--heartbeat-ms', '200']);
});
afterEach(() => {
  closeAllClients();
  for (const client of legacyClients.splice(0)) client.close();
});
afterAll(async () => {
  await stopAllProcesses();
  removeTempDirs();
});

async function geometryOs(): Promise<GeometryOsClient> {
  const client = new GeometryOsClient(server.url);
  legacyClients.push(client);
  await client.opened;
  return client;
}

describe('legacy JSON mode units', () => {
  it('sends a tile a manifest entry one second later counts as newer than (seconds, not ms)', async () => {
    const map = await geometryOs();
    const tileMs = 1_795_000_000_500;
    const { lastTileId } = await writeRowsFromAnotherProcess({ db, rows: [{ table: 'tile_updates', x: 3, y: -8, brick: 'grass', ts: tileMs }] });
    await waitFor(() => map.tiles.find((t) => t.seq === lastTileId), 'the tile');
    const tile = map.tiles.find((t) => t.seq === lastTileId)!;
    expect(tile).toEqual({ type: 'tile_update', seq: lastTileId, x: 3, y: -8, brick: 'grass', timestamp: tileMs / 1000 });
    // The manifest was written one second after the tile: the map must refresh from it.
    const manifestSeconds = Math.floor(tileMs / 1000) + 1;
    expect(map.manifestIsNewer(3, -8, manifestSeconds)).toBe(true);
    // And one second before: the tile from wirecam is the newer one.
    expect(map.manifestIsNewer(3, -8, Math.floor(tileMs / 1000) - 1)).toBe(false);
  });

  it("sends camera timestamps as the row's ms / 1000 rounded down, and keeps ms for wirecam.v1.*", async () => {
    const legacy = await geometryOs();
    const json = await connect(server.url, { protocols: ['wirecam.v1.json'] });
    const msgpack = await connect(server.url, { protocols: ['wirecam.v1.msgpack'] });
    const ts = 1_795_000_000_999;
    const { lastId } = await writeRowsFromAnotherProcess({ db, rows: [{ camera: 'main', x: 1, y: 2, zoom: 1, ts }] });
    await waitFor(() => legacy.camera?.seq === lastId, 'the legacy client to get the row');
    expect(legacy.camera!.timestamp).toBe(1_795_000_000);
    expect(Number.isInteger(legacy.camera!.timestamp)).toBe(true);
    for (const client of [json, msgpack]) {
      const update = await client.waitForMessage((m) => m.type === 'camera_update' && m.seq === lastId, 'the row');
      expect(update.timestamp).toBe(ts);
    }
  });

  it("sends heartbeats with the clock's integer seconds (and ms on wirecam.v1.*)", async () => {
    const json = await connect(server.url, { protocols: ['wirecam.v1.json'] });
    const before = Date.now();
    const legacy = await geometryOs();
    await waitFor(() => legacy.heartbeats.length >= 2, 'two heartbeats');
    const after = Date.now();
    for (const beat of legacy.heartbeats) {
      expect(Number.isInteger(beat.timestamp)).toBe(true);
      expect(beat.timestamp).toBeGreaterThanOrEqual(Math.floor(before / 1000));
      expect(beat.timestamp).toBeLessThanOrEqual(Math.floor(after / 1000));
    }
    const beat = await json.waitForMessage((m) => m.type === 'heartbeat', 'a heartbeat');
    expect(beat.timestamp as number).toBeGreaterThan(before - 1000);
  });
});
