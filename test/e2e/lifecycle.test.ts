// Starting, stopping, crashing and restarting; liveness and slow consumers (docs/protocol.md 7).
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import WebSocket from 'ws';
import { encode } from '@msgpack/msgpack';
import { startServer, stopAllProcesses, stopProcess } from '../helpers/processes.js';
import { connect, closeAllClients } from '../helpers/clients.js';
import { writeRowsFromAnotherProcess } from '../helpers/rows.js';
import { tempDir, removeTempDirs } from '../helpers/tmp.js';
import { queryStore } from '../helpers/store.js';
import { waitFor } from '../helpers/wait.js';

const TOKEN = 'lifecycle-token';

afterEach(async () => {
  closeAllClients();
  await stopAllProcesses();
});
afterAll(() => removeTempDirs());

describe('crash and restart', () => {
  it('after kill -9, a new client’s snapshot is the last row and seq is never reused', async () => {
    const db = join(tempDir(), 'camera.db');
    const first = await startServer(['--db', db], { WIRECAM_PRODUCER_TOKEN: TOKEN });
    const producer = await connect(first.url, { protocols: ['wirecam.v1.msgpack'], headers: { Authorization: `Bearer ${TOKEN}` } });
    for (let i = 0; i < 50; i++) producer.sendRaw(Buffer.from(encode({ type: 'camera_update', camera: 'crash', x: i, y: i, zoom: 1 })), true);
    await waitFor(() => producer.ofType('ack').length === 50, '50 acks');
    const { lastId } = await writeRowsFromAnotherProcess({ db, rows: [{ camera: 'crash', x: 999, y: 998, zoom: 2 }] });
    const acked = producer.ofType('ack').map((m) => m.seq as number);
    first.child.kill('SIGKILL');
    expect((await first.exited).signal).toBe('SIGKILL');

    // Every acknowledged update survived the crash.
    const stored = new Set(queryStore<{ id: number }>(db, "SELECT id FROM camera_updates WHERE camera = 'crash'").map((r) => r.id));
    expect(acked.every((seq) => stored.has(seq))).toBe(true);

    const second = await startServer(['--db', db], { WIRECAM_PRODUCER_TOKEN: TOKEN });
    const late = await connect(second.url, { protocols: ['wirecam.v1.json'], query: 'camera=crash' });
    const snapshot = await late.waitForMessage((m) => m.type === 'camera_update', 'the snapshot');
    expect(snapshot).toMatchObject({ camera: 'crash', seq: lastId, x: 999, y: 998, zoom: 2 });

    // Delete the newest row by hand: its id must still never come back (AUTOINCREMENT).
    await writeRowsFromAnotherProcess({ db, rows: [] });
    const Database = (await import('better-sqlite3')).default;
    const connection = new Database(db);
    connection.prepare('DELETE FROM camera_updates WHERE id = ?').run(lastId);
    connection.close();
    const producer2 = await connect(second.url, { protocols: ['wirecam.v1.json'], headers: { Authorization: `Bearer ${TOKEN}` } });
    producer2.sendJson({ type: 'camera_update', camera: 'crash', x: 1, y: 1, zoom: 1 });
    const ack = await producer2.waitForMessage((m) => m.type === 'ack', 'ack after restart');
    expect(ack.seq as number).toBeGreaterThan(lastId);
    await stopProcess(second);
  });
});

describe('graceful shutdown', () => {
  it('closes every client with 1001 on SIGTERM, stores what it acknowledged, and exits 0', async () => {
    const db = join(tempDir(), 'camera.db');
    const server = await startServer(['--db', db], { WIRECAM_PRODUCER_TOKEN: TOKEN });
    const viewers = [await connect(server.url), await connect(server.url, { protocols: ['wirecam.v1.msgpack'] })];
    const producer = await connect(server.url, { protocols: ['wirecam.v1.json'], headers: { Authorization: `Bearer ${TOKEN}` } });
    for (let i = 0; i < 500; i++) producer.sendJson({ type: 'camera_update', camera: 'bye', x: i, y: 0, zoom: 1 });
    await waitFor(() => producer.ofType('ack').length > 0, 'the first ack');
    const { code } = await stopProcess(server, 'SIGTERM');
    expect(code).toBe(0);
    for (const client of [...viewers, producer]) expect((await client.waitForClose()).code).toBe(1001);
    const acked = producer.ofType('ack').map((m) => m.seq as number);
    const stored = new Set(queryStore<{ id: number }>(db, "SELECT id FROM camera_updates WHERE camera = 'bye'").map((r) => r.id));
    // Whatever the server took before the signal was stored and acknowledged; nothing stored
    // went unacknowledged and nothing acknowledged went unstored.
    expect(acked.every((seq) => stored.has(seq))).toBe(true);
    expect(stored.size).toBe(acked.length);
    expect(server.stdout.some((line) => line.includes('"stopped"'))).toBe(true);
  });

  it('stops on SIGINT too', async () => {
    const server = await startServer(['--db', join(tempDir(), 'camera.db')]);
    const client = await connect(server.url);
    expect((await stopProcess(server, 'SIGINT')).code).toBe(0);
    expect((await client.waitForClose()).code).toBe(1001);
  });
});

describe('liveness', () => {
  it('terminates a connection from which nothing is heard, keeps one that answers', async () => {
    const server = await startServer(['--db', join(tempDir(), 'camera.db'), '--heartbeat-ms', '100', '--idle-timeout-ms', '600']);
    // autoPong off: this client hears pings but never answers, and sends nothing.
    const silent = new WebSocket(server.url, { autoPong: false });
    const closed = new Promise<number>((resolve) => silent.on('close', (code) => resolve(code)));
    await new Promise((resolve) => silent.once('open', resolve));
    const answering = await connect(server.url, { protocols: ['wirecam.v1.json'] });
    const started = Date.now();
    const code = await closed;
    const after = Date.now() - started;
    // Terminated without a close frame (1006), after the idle timeout and not long after it.
    expect(code).toBe(1006);
    expect(after).toBeGreaterThanOrEqual(500);
    expect(after).toBeLessThan(5000);
    expect(answering.closed).toBeNull();
    expect(answering.ofType('heartbeat').length).toBeGreaterThan(3);
  });
});

describe('slow consumers', () => {
  it('closes with 4000 a client that is owed more than --slow-consumer-bytes', async () => {
    const db = join(tempDir(), 'camera.db');
    const server = await startServer(['--db', db, '--slow-consumer-bytes', '65536', '--slow-consumer-grace-ms', '500']);
    const healthy = await connect(server.url, { protocols: ['wirecam.v1.json'] });
    const slow = await connect(server.url, { protocols: ['wirecam.v1.json'] });
    slow.pause();
    // Tiles are never conflated: a reader that does not keep up falls behind until it is closed.
    const { lastTileId } = await writeRowsFromAnotherProcess({ db, burst: { count: 150_000, perTransaction: 1000, tiles: true } });
    // Once the server gives up on it, read what was queued: the close frame comes last.
    await waitFor(() => server.logs().some((l) => l.msg === 'closed slow consumer'), 'the server to close the slow consumer', 30_000);
    slow.resume();
    await healthy.waitForMessage((m) => m.type === 'tile_update' && m.seq === lastTileId, 'the healthy client to get every tile', 30_000);
    const closed = await slow.waitForClose(15_000);
    expect(closed).toEqual({ code: 4000, reason: 'slow consumer' });
    expect(healthy.closed).toBeNull();
    const healthyTiles = healthy.ofType('tile_update').map((m) => m.seq as number);
    expect(healthyTiles).toHaveLength(150_000);
    for (let i = 1; i < healthyTiles.length; i++) expect(healthyTiles[i]).toBe(healthyTiles[i - 1]! + 1);
    // The tiles it did get came in order, without gaps, up to where it was cut off.
    const slowTiles = slow.ofType('tile_update').map((m) => m.seq as number);
    for (let i = 1; i < slowTiles.length; i++) expect(slowTiles[i]).toBe(slowTiles[i - 1]! + 1);
  });
});
