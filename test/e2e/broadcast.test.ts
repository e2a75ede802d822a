// Rows written by another process reach every kind of client, each in its own encoding.
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

beforeAll(async () => {
  db = join(tempDir(), 'store', 'camera.db');
  server = await startServer(['--db', db, '--heartbeat-ms', '300']);
});
afterEach(() => closeAllClients());
afterAll(async () => {
  await stopAllProcesses();
  removeTempDirs();
});

describe('broadcast of store rows', () => {
  it('delivers a row written by another process to legacy, JSON and MessagePack clients alike', async () => {
    const legacy = new GeometryOsClient(server.url);
    await legacy.opened;
    const json = await connect(server.url, { protocols: ['wirecam.v1.json'] });
    const msgpack = await connect(server.url, { protocols: ['wirecam.v1.msgpack'] });
    expect(json.protocol).toBe('wirecam.v1.json');
    expect(msgpack.protocol).toBe('wirecam.v1.msgpack');
    expect(legacy.socket.protocol).toBe('');

    const ts = 1_795_000_000_123; // above 2^32: must stay an integer in MessagePack
    const { lastId } = await writeRowsFromAnotherProcess({
      db,
      rows: [{ camera: 'main', x: 12.5, y: -3, zoom: 2, target_x: 20, target_y: null, target_zoom: null, ts }],
    });
    const expected = {
      type: 'camera_update', camera: 'main', seq: lastId, x: 12.5, y: -3, zoom: 2,
      target_x: 20, target_y: -3, target_zoom: 2, timestamp: ts,
    };
    await waitFor(() => legacy.camera?.seq === lastId, 'the legacy client to get the row');
    const fromJson = await json.waitForMessage((m) => m.type === 'camera_update' && m.seq === lastId, 'json update');
    const fromMsgpack = await msgpack.waitForMessage((m) => m.type === 'camera_update' && m.seq === lastId, 'msgpack update');
    // Legacy JSON mode: camera_sync.rs's integer seconds (docs/protocol.md section 4).
    expect(legacy.camera).toEqual({ ...expected, timestamp: Math.floor(ts / 1000) });
    expect(fromJson).toEqual(expected);
    expect(fromMsgpack).toEqual(expected);
    expect(msgpack.received.find((r) => r.message === fromMsgpack)!.binary).toBe(true);
    expect(json.received.find((r) => r.message === fromJson)!.binary).toBe(false);
    legacy.close();
  });

  it('sends hello first on wirecam.v1.* and never in legacy mode', async () => {
    const json = await connect(server.url, { protocols: ['wirecam.v1.json'], query: 'camera=main,side&max_hz=500' });
    const msgpack = await connect(server.url, { protocols: ['wirecam.v1.msgpack'], query: 'camera=*&max_hz=7' });
    const legacy = await connect(server.url);
    await waitFor(() => json.messages.length > 0 && msgpack.messages.length > 0, 'hellos');
    expect(json.messages[0]).toMatchObject({
      type: 'hello', protocol: 'wirecam.v1', encoding: 'json', role: 'viewer', cameras: ['main', 'side'], max_hz: 60, heartbeat_ms: 300,
    });
    expect(json.messages[0]!.server).toMatch(/^wirecam\/\d+\.\d+\.\d+/);
    expect(typeof json.messages[0]!.session).toBe('string');
    expect(msgpack.messages[0]).toMatchObject({ type: 'hello', encoding: 'msgpack', cameras: ['*'], max_hz: 7 });
    // The legacy client hears heartbeats and camera updates but no hello.
    await legacy.waitForMessage((m) => m.type === 'heartbeat', 'a heartbeat');
    expect(legacy.ofType('hello')).toHaveLength(0);
  });

  it('answers each client with the latest state of its cameras on connect (snapshot)', async () => {
    const { lastId } = await writeRowsFromAnotherProcess({
      db,
      rows: [
        { camera: 'snap', x: 1, y: 1, zoom: 1 },
        { camera: 'snap', x: 2, y: 2, zoom: 1 },
        { camera: 'other', x: 9, y: 9, zoom: 1 },
      ],
    });
    const watcher = await connect(server.url, { protocols: ['wirecam.v1.json'], query: 'camera=other' });
    await watcher.waitForMessage((m) => m.type === 'camera_update' && m.seq === lastId, 'the row to be live');
    const late = await connect(server.url, { protocols: ['wirecam.v1.msgpack'], query: 'camera=snap,other' });
    await waitFor(() => late.cameraUpdates().length >= 2, 'two snapshot states');
    expect(late.messages[0]!.type).toBe('hello');
    expect(late.lastCameraUpdate('snap')).toMatchObject({ seq: lastId - 1, x: 2 });
    expect(late.lastCameraUpdate('other')).toMatchObject({ seq: lastId, x: 9 });
  });

  it('keeps the Geometry OS client alive: it answers heartbeats in seconds and is never cut off', async () => {
    const legacy = new GeometryOsClient(server.url);
    await legacy.opened;
    await waitFor(() => legacy.heartbeatsAnswered >= 3, 'three heartbeats answered');
    expect(legacy.unknown).toEqual([]);
    expect(legacy.parseFailures).toBe(0);
    expect(legacy.socket.readyState).toBe(legacy.socket.OPEN);
    legacy.close();
  });

  it('delivers tiles to every client whatever its camera subscription', async () => {
    const a = await connect(server.url, { protocols: ['wirecam.v1.msgpack'], query: 'camera=nothing-here' });
    const b = await connect(server.url);
    const { lastTileId } = await writeRowsFromAnotherProcess({
      db,
      rows: [{ table: 'tile_updates', x: -4, y: 7, brick: 'stone.png', ts: 1_795_000_000_000 }],
    });
    const expected = { type: 'tile_update', seq: lastTileId, x: -4, y: 7, brick: 'stone.png', timestamp: 1_795_000_000_000 };
    const tile = await a.waitForMessage((m) => m.type === 'tile_update' && m.seq === lastTileId, 'the tile');
    expect(tile).toEqual(expected);
    // Legacy JSON mode: Unix seconds (docs/protocol.md section 4).
    const legacyTile = await b.waitForMessage((m) => m.type === 'tile_update' && m.seq === lastTileId, 'the tile (legacy)');
    expect(legacyTile).toEqual({ ...expected, timestamp: 1_795_000_000 });
  });
});
