// Faults with real processes and real files: a crash mid-write, another process holding the
// store's write lock, the store deleted or replaced under a running server. Nothing that
// was acknowledged is lost, connected clients keep being served, and the service recovers
// by itself.
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { rmSync, renameSync, existsSync } from 'node:fs';
import Database from 'better-sqlite3';
import { health, startServer, stopAllProcesses, stopProcess, type ServerProcess } from '../helpers/processes.js';
import { connect, closeAllClients, type TestClient } from '../helpers/clients.js';
import { writeRowsFromAnotherProcess } from '../helpers/rows.js';
import { tempDir, removeTempDirs } from '../helpers/tmp.js';
import { queryStore } from '../helpers/store.js';
import { waitFor } from '../helpers/wait.js';
import { holdWriteLock } from '../helpers/lock.js';

const TOKEN = 'faults-token';

afterEach(async () => {
  closeAllClients();
  await stopAllProcesses();
});
afterAll(() => removeTempDirs());

/** A valid store made at `path`, in rollback-journal mode so it is one file that can be moved. */
function makeStore(path: string, sql = ''): void {
  const store = new Database(path);
  store.exec(`CREATE TABLE camera_updates (id INTEGER PRIMARY KEY AUTOINCREMENT, camera TEXT NOT NULL DEFAULT 'main',
    x REAL NOT NULL, y REAL NOT NULL, zoom REAL NOT NULL, target_x REAL, target_y REAL, target_zoom REAL, ts INTEGER NOT NULL);
    CREATE TABLE tile_updates (id INTEGER PRIMARY KEY AUTOINCREMENT, x INTEGER NOT NULL, y INTEGER NOT NULL, brick TEXT NOT NULL, ts INTEGER NOT NULL);
    ${sql}`);
  store.close();
}

const producer = (server: ServerProcess) => connect(server.url, { protocols: ['wirecam.v1.json'], headers: { Authorization: `Bearer ${TOKEN}` } });

describe('kill -9 while producers write', () => {
  it('keeps every acknowledged update, with the values sent', async () => {
    const db = join(tempDir(), 'camera.db');
    const server = await startServer(['--db', db, '--max-producer-rate', '100000'], { WIRECAM_PRODUCER_TOKEN: TOKEN });
    const producers: TestClient[] = await Promise.all([0, 1, 2].map(() => producer(server)));
    // Each producer streams updates whose values say who sent them and in which order.
    let sending = true;
    const sent = [0, 0, 0];
    const loops = producers.map(async (p, id) => {
      while (sending && p.closed === null) {
        for (let k = 0; k < 20; k++) p.sendJson({ type: 'camera_update', camera: `crash-${id}`, x: id, y: sent[id]!++, zoom: 1 });
        await new Promise((resolve) => setImmediate(resolve));
      }
    });
    await waitFor(() => producers.every((p) => p.ofType('ack').length > 200), 'each producer to have acks');
    server.child.kill('SIGKILL');
    await server.exited;
    sending = false;
    await Promise.all(loops);

    const acked = producers.map((p) => p.ofType('ack').map((m) => m.seq as number));
    const rows = new Map(queryStore<{ id: number; camera: string; x: number; y: number }>(db, 'SELECT id, camera, x, y FROM camera_updates').map((r) => [r.id, r]));
    let ackCount = 0;
    acked.forEach((seqs, id) => {
      // Each ack names a stored row with this producer's values, in the order it sent them.
      // (Not necessarily its n-th update: one refused while the write queue was full, on a
      // busy machine, gets no ack and is not stored.)
      let lastY = -1;
      seqs.forEach((seq) => {
        const row = rows.get(seq);
        expect(row, `acknowledged seq ${seq} of producer ${id}`).toMatchObject({ id: seq, camera: `crash-${id}`, x: id });
        expect(row!.y).toBeGreaterThan(lastY);
        expect(row!.y).toBeLessThan(sent[id]!);
        lastY = row!.y;
        ackCount++;
      });
    });
    console.log(`kill -9: ${sent.reduce((a, b) => a + b)} updates sent, ${ackCount} acknowledged, ${rows.size} stored; every acknowledged one found`);
    expect(ackCount).toBeGreaterThan(600);

    // The store is intact for the next run: it starts and serves the last state.
    const again = await startServer(['--db', db], { WIRECAM_PRODUCER_TOKEN: TOKEN });
    const client = await connect(again.url, { protocols: ['wirecam.v1.json'], query: 'camera=crash-0' });
    const snapshot = await client.waitForMessage((m) => m.type === 'camera_update', 'snapshot');
    expect(snapshot.seq as number).toBeGreaterThanOrEqual(acked[0]!.at(-1)!);
  });
});

describe('another process holds the write lock for 5 s', () => {
  it('keeps serving, reports degraded, and catches up afterwards with nothing skipped', async () => {
    const db = join(tempDir(), 'camera.db');
    const server = await startServer(['--db', db, '--heartbeat-ms', '200'], { WIRECAM_PRODUCER_TOKEN: TOKEN });
    const viewer = await connect(server.url, { protocols: ['wirecam.v1.msgpack'], query: 'camera=locked' });
    const p = await producer(server);
    p.sendJson({ type: 'camera_update', camera: 'locked', x: -1, y: 0, zoom: 1 });
    await p.waitForMessage((m) => m.type === 'ack', 'an ack before the lock');

    // A separate process takes the write lock (BEGIN IMMEDIATE), writes a row, holds 5 s.
    const holder = await holdWriteLock(db, { insert: { camera: 'locked', x: 1000 }, releaseAfterMs: 5000 });
    const heartbeatsBefore = viewer.ofType('heartbeat').length;
    for (let i = 0; i < 20; i++) p.sendJson({ type: 'camera_update', camera: 'locked', x: i, y: 0, zoom: 1 });

    const degraded = await waitFor(async () => {
      const h = await health(server);
      return h.body.status === 'degraded' ? h : null;
    }, '/healthz to report degraded', 4000);
    expect(degraded.status).toBe(200);
    expect(degraded.body.store).toBe('busy');
    expect(p.ofType('ack')).toHaveLength(1);
    // Connected clients are still served meanwhile.
    await waitFor(() => viewer.ofType('heartbeat').length >= heartbeatsBefore + 5, 'heartbeats during the lock');
    expect(viewer.closed).toBeNull();

    await waitFor(() => holder.stdout.includes('released'), 'the lock to be released', 10_000);
    await waitFor(() => p.ofType('ack').length === 21, 'every queued update to be stored and acknowledged', 10_000);
    const xs = queryStore<{ x: number }>(db, "SELECT x FROM camera_updates WHERE camera = 'locked' ORDER BY id").map((r) => r.x);
    expect(xs).toEqual([-1, 1000, ...Array.from({ length: 20 }, (_, i) => i)]);
    const lastSeq = p.ofType('ack').at(-1)!.seq;
    await viewer.waitForMessage((m) => m.type === 'camera_update' && m.seq === lastSeq, 'the final state at the viewer');
    await waitFor(async () => (await health(server)).body.status === 'ok', '/healthz to be ok again');
  });
});

describe('the database file deleted or replaced while running', () => {
  it('says so clearly, answers 503, and recovers without a restart when a valid file is back', async () => {
    const dir = tempDir();
    const db = join(dir, 'camera.db');
    const server = await startServer(['--db', db], { WIRECAM_PRODUCER_TOKEN: TOKEN });
    const viewer = await connect(server.url, { protocols: ['wirecam.v1.json'], query: 'camera=gone' });
    const { lastId } = await writeRowsFromAnotherProcess({ db, rows: [{ camera: 'gone', x: 1, y: 1, zoom: 1 }] });
    await viewer.waitForMessage((m) => m.seq === lastId, 'the first row');

    for (const suffix of ['', '-wal', '-shm']) rmSync(`${db}${suffix}`, { force: true });
    const down = await waitFor(async () => {
      const h = await health(server);
      return h.status === 503 ? h : null;
    }, '/healthz to answer 503', 5000);
    expect(down.body).toMatchObject({ status: 'unavailable', store: 'unavailable' });
    expect(String(down.body.store_error)).toContain('missing');
    await waitFor(() => server.logs().some((l) => l.msg === 'store cannot be read' && String(l.err).includes(db)), 'a log line naming the file');
    expect(viewer.closed).toBeNull();

    // Someone puts a valid store back: a fresh one, made aside and moved in at once.
    makeStore(join(dir, 'fresh.db'));
    renameSync(join(dir, 'fresh.db'), db);
    await waitFor(async () => (await health(server)).status === 200, '/healthz to recover', 10_000);
    expect(server.logs().some((l) => l.msg === 'store readable again')).toBe(true);

    // New rows flow again, and seq keeps increasing although the new file started at 1.
    const after = await writeRowsFromAnotherProcess({ db, rows: [{ camera: 'gone', x: 2, y: 2, zoom: 2 }] });
    const update = await viewer.waitForMessage((m) => m.type === 'camera_update' && m.x === 2, 'a row from the new file', 10_000);
    expect(update.seq as number).toBeGreaterThan(lastId);
    expect(after.lastId).toBe(update.seq);
    // Producers' updates are stored in the new file, above every seq already sent.
    const p = await producer(server);
    p.sendJson({ type: 'camera_update', camera: 'gone', x: 3, y: 3, zoom: 3 });
    const ack = await p.waitForMessage((m) => m.type === 'ack', 'an ack from the new file');
    expect(ack.seq as number).toBeGreaterThan(update.seq as number);
    await viewer.waitForMessage((m) => m.type === 'camera_update' && m.seq === ack.seq, 'the producer’s update');
  });

  it('notices a file renamed over the store and continues with it', async () => {
    const dir = tempDir();
    const db = join(dir, 'camera.db');
    const server = await startServer(['--db', db]);
    const viewer = await connect(server.url, { protocols: ['wirecam.v1.json'], query: 'camera=swap' });
    const { lastId } = await writeRowsFromAnotherProcess({ db, burst: { camera: 'swap', count: 50, perTransaction: 50 } });
    await viewer.waitForMessage((m) => m.seq === lastId, 'the burst');

    // A store prepared elsewhere (a restored backup) is moved over the path in one rename,
    // its predecessor's WAL removed first, as replacing a WAL-mode SQLite file requires.
    const other = join(dir, 'restored.db');
    makeStore(other, "INSERT INTO camera_updates (camera, x, y, zoom, ts) VALUES ('swap', -5, -5, 1, 1);");
    for (const suffix of ['-wal', '-shm']) if (existsSync(`${db}${suffix}`)) rmSync(`${db}${suffix}`);
    renameSync(other, db);
    await waitFor(() => server.logs().some((l) => l.msg === 'store sequence space was reset' && l.cause === 'file_replaced'), 'the replacement to be noticed', 10_000);
    // The restored file's state reaches clients as a new row, above every seq already sent;
    // its old row (seq 1) itself is never sent: that seq predates what clients have.
    const restored = await viewer.waitForMessage((m) => m.type === 'camera_update' && m.x === -5, "the restored file's state", 10_000);
    expect(restored.seq as number).toBeGreaterThan(lastId);
    const next = await writeRowsFromAnotherProcess({ db, rows: [{ camera: 'swap', x: 77, y: 77, zoom: 1 }] });
    const update = await viewer.waitForMessage((m) => m.type === 'camera_update' && m.x === 77, 'a row written into the replacement', 10_000);
    expect(update.seq).toBe(next.lastId);
    expect(update.seq as number).toBeGreaterThan(restored.seq as number);
    await stopProcess(server);
  });
});
