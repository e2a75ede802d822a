// Store faults that change the store under a running server, with real files, rows written
// by other processes, the sqlite3 shell and a real server process: a restore in place (the
// sequence rolled back), the store's folder replaced by rename, a store copied into place
// while missing, another process holding the write lock, and a reader pinning the WAL.
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import Database from 'better-sqlite3';
import { health, startProcess, startServer, stopAllProcesses, stopProcess, type ServerProcess, type Started } from '../helpers/processes.js';
import { closeAllClients, connect, type Message } from '../helpers/clients.js';
import { writeRowsFromAnotherProcess } from '../helpers/rows.js';
import { removeTempDirs, tempDir } from '../helpers/tmp.js';
import { queryStore } from '../helpers/store.js';
import { waitFor } from '../helpers/wait.js';

const TOKEN = 'store-faults-token';

afterEach(async () => {
  closeAllClients();
  await stopAllProcesses();
});
afterAll(() => removeTempDirs());

async function metric(server: ServerProcess, name: string): Promise<number | null> {
  const text = await (await fetch(`${server.httpUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? null : Number(line.split(' ')[1]);
}

/** Runs the sqlite3 shell on `db` with `input` on stdin, to its end. */
async function sqlite3(db: string, input: string): Promise<string[]> {
  const shell = startProcess([db], { command: 'sqlite3' });
  shell.child.stdin!.end(input);
  const { code } = await shell.exited;
  if (code !== 0) throw new Error(`sqlite3 failed (${code}): ${shell.stderr.join('\n')}`);
  return shell.stdout;
}

const producer = (server: ServerProcess) => connect(server.url, { protocols: ['wirecam.v1.json'], headers: { Authorization: `Bearer ${TOKEN}` } });
const viewer = (server: ServerProcess, query = 'camera=*') => connect(server.url, { protocols: ['wirecam.v1.json'], query });

/** Per camera, the seqs a client received must only increase (docs/protocol.md 6.1). */
function expectIncreasingPerCamera(messages: Message[]): void {
  const last = new Map<string, number>();
  for (const m of messages) {
    if (m.type !== 'camera_update') continue;
    const camera = m.camera as string;
    expect(m.seq as number, `seq of ${camera}`).toBeGreaterThan(last.get(camera) ?? 0);
    last.set(camera, m.seq as number);
  }
}

describe('the store restored in place (sequence rolled back)', () => {
  const restores = {
    'DELETE newer rows and lower sqlite_sequence': {
      cause: 'sequence_rolled_back',
      run: (db: string, keep: number) =>
        sqlite3(db, `BEGIN; DELETE FROM camera_updates WHERE id > ${keep}; UPDATE sqlite_sequence SET seq = ${keep} WHERE name = 'camera_updates'; COMMIT;\n`),
    },
    'the sqlite3 shell .restore of an earlier backup': {
      cause: 'sequence_rolled_back',
      run: (db: string, _keep: number, backup: string) => sqlite3(db, `.restore ${backup}\n`),
    },
    'DELETE newer rows only (sqlite_sequence untouched)': {
      cause: 'rows_removed',
      run: (db: string, keep: number) => sqlite3(db, `DELETE FROM camera_updates WHERE id > ${keep};\n`),
    },
  };

  for (const [how, { cause, run: restore }] of Object.entries(restores)) {
    it(`detects it, says so once, and recovers: ${how}`, async () => {
      const dir = tempDir();
      const db = join(dir, 'camera.db');
      const backup = join(dir, 'backup.db');
      const server = await startServer(['--db', db], { WIRECAM_PRODUCER_TOKEN: TOKEN });
      const watcher = await viewer(server);
      // Two cameras' states, then a backup, then newer states and a camera the backup lacks.
      const before = await writeRowsFromAnotherProcess({ db, rows: [{ camera: 'roll-a', x: 1, y: 1, zoom: 1 }, { camera: 'roll-b', x: 2, y: 2, zoom: 1 }] });
      await watcher.waitForMessage((m) => m.seq === before.lastId, 'the first rows');
      await sqlite3(db, `.backup ${backup}\n`);
      const later = await writeRowsFromAnotherProcess({
        db,
        rows: [{ camera: 'roll-a', x: 10, y: 10, zoom: 1 }, { camera: 'roll-b', x: 20, y: 20, zoom: 1 }, { camera: 'roll-gone', x: 30, y: 30, zoom: 1 }],
      });
      await watcher.waitForMessage((m) => m.seq === later.lastId, 'the newer rows');
      const highestSent = later.lastId;

      await restore(db, before.lastId, backup);

      // Detected at the restore's own commit, named in one log line and on /healthz.
      const line = await waitFor(() => server.logs().find((l) => l.msg === 'store sequence space was reset'), 'the reset to be logged', 10_000);
      expect(line).toMatchObject({ cause });
      const h = await waitFor(async () => {
        const report = await health(server);
        return report.body.store_resets === 1 ? report : null;
      }, '/healthz to count the reset');
      expect(String(h.body.store_event)).toContain(cause === 'rows_removed' ? 'newest rows removed' : 'sequence rolled back');
      expect(h.body.status).toBe('ok');

      // The restored states reach the viewer with seqs above every seq it saw.
      const restoredA = await watcher.waitForMessage((m) => m.camera === 'roll-a' && m.x === 1 && (m.seq as number) > highestSent, 'roll-a restored, with a new seq');
      expect(restoredA.seq as number).toBeGreaterThan(highestSent);
      await watcher.waitForMessage((m) => m.camera === 'roll-b' && m.x === 2 && (m.seq as number) > highestSent, 'roll-b restored, with a new seq');

      // Rows written after the restore are broadcast; a producer's ack is above every sent seq.
      const next = await writeRowsFromAnotherProcess({ db, rows: [{ camera: 'roll-a', x: 100, y: 100, zoom: 1 }] });
      expect(next.lastId).toBeGreaterThan(highestSent);
      await watcher.waitForMessage((m) => m.camera === 'roll-a' && m.x === 100, 'a row written after the restore', 10_000);
      const p = await producer(server);
      p.sendJson({ type: 'camera_update', camera: 'roll-b', x: 200, y: 200, zoom: 1 });
      const ack = await p.waitForMessage((m) => m.type === 'ack', 'an ack after the restore');
      const seen = Math.max(...watcher.cameraUpdates().map((m) => m.seq as number));
      expect(ack.seq as number).toBeGreaterThan(highestSent);
      await watcher.waitForMessage((m) => m.seq === ack.seq && m.x === 200, "the producer's update");
      expect(ack.seq as number).toBeGreaterThanOrEqual(seen);
      expectIncreasingPerCamera(watcher.messages);

      // A new viewer's snapshot holds what the store holds: no camera the restore removed.
      const late = await viewer(server);
      await late.waitForMessage((m) => m.camera === 'roll-b' && m.x === 200, 'the snapshot of roll-b');
      await late.waitForMessage((m) => m.camera === 'roll-a' && m.x === 100, 'the snapshot of roll-a');
      expect(late.cameraUpdates('roll-gone')).toEqual([]);
      expect(server.logs().filter((l) => l.msg === 'store sequence space was reset')).toHaveLength(1);
      console.log(`${how}: reset logged once, restored states re-sent at seq ${restoredA.seq} > ${highestSent}, ack ${ack.seq}`);
    });
  }
});

describe("the store's folder replaced by rename", () => {
  it('follows the new folder: logged once, watched again, commits reach clients at the watched latency', async () => {
    const root = tempDir();
    const data = join(root, 'data');
    const db = join(data, 'camera.db');
    const server = await startServer(['--db', db]);
    const watcher = await viewer(server, 'camera=lat');
    const latencies = async (count: number): Promise<number> => {
      const from = watcher.received.length;
      const { lastId } = await writeRowsFromAnotherProcess({ db, burst: { camera: 'lat', count, perTransaction: 1, rateHz: 20 } });
      await watcher.waitForMessage((m) => m.seq === lastId, 'the burst', 10_000);
      const ms = watcher.received.slice(from).filter((r) => r.message.camera === 'lat' && r.message.type === 'camera_update' && (r.message.seq as number) > 0)
        .map((r) => r.at - (r.message.timestamp as number)).sort((a, b) => a - b);
      return ms[Math.floor(ms.length / 2)]!;
    };
    const watchedP50 = await latencies(20);

    // A staging copy of the store, then `mv data data.old && mv staging data`.
    const staging = join(root, 'staging');
    mkdirSync(staging);
    await sqlite3(db, `.backup ${join(staging, 'camera.db')}\n`);
    renameSync(data, join(root, 'data.old'));
    renameSync(staging, data);

    await waitFor(() => server.logs().find((l) => l.msg === "the store's folder was replaced; watching the new one"), 'the new folder to be watched', 10_000);
    const h = await health(server);
    expect(h.body.store_watch).toBe('watched');
    await writeRowsFromAnotherProcess({ db, rows: [{ camera: 'lat', x: -1, y: -1, zoom: 1 }] });
    await watcher.waitForMessage((m) => m.x === -1, 'a row from the new folder');
    const afterP50 = await latencies(20);
    console.log(`commit to receipt p50: ${watchedP50} ms watched, ${afterP50} ms after the folder was replaced`);
    expect(afterP50).toBeLessThan(50);
    expect(server.logs().filter((l) => l.msg === "the store's folder was replaced; watching the new one")).toHaveLength(1);
  });
});

describe('a missing store is never created by the service', () => {
  it('uses a file that appears at the path only once it is a complete wirecam store, and never writes to it before', async () => {
    const dir = tempDir();
    const db = join(dir, 'camera.db');
    const server = await startServer(['--db', db]);
    const watcher = await viewer(server, 'camera=back');
    const { lastId } = await writeRowsFromAnotherProcess({ db, rows: [{ camera: 'back', x: 1, y: 1, zoom: 1 }] });
    await watcher.waitForMessage((m) => m.seq === lastId, 'the first row');

    // A backup (rollback-journal mode: one file) with a few hundred rows, made aside.
    const backup = join(tempDir(), 'backup.db');
    const made = new Database(backup);
    made.exec(`CREATE TABLE camera_updates (id INTEGER PRIMARY KEY AUTOINCREMENT, camera TEXT NOT NULL DEFAULT 'main',
      x REAL NOT NULL, y REAL NOT NULL, zoom REAL NOT NULL, target_x REAL, target_y REAL, target_zoom REAL, ts INTEGER NOT NULL);
      CREATE TABLE tile_updates (id INTEGER PRIMARY KEY AUTOINCREMENT, x INTEGER NOT NULL, y INTEGER NOT NULL, brick TEXT NOT NULL, ts INTEGER NOT NULL);`);
    const insert = made.prepare("INSERT INTO camera_updates (camera, x, y, zoom, ts) VALUES ('back', ?, ?, 1, ?)");
    made.transaction(() => {
      for (let i = 0; i < 2000; i++) insert.run(1000 + i, i, Date.now());
    })();
    made.close();
    const bytes = readFileSync(backup);
    expect(bytes.length).toBeGreaterThan(8 * 4096);

    for (const suffix of ['', '-wal', '-shm']) rmSync(`${db}${suffix}`, { force: true });
    await waitFor(async () => (await health(server)).status === 503, '/healthz to answer 503');

    // First, a complete SQLite file that is not a wirecam store: it is left alone, and /healthz says why.
    const foreign = new Database(join(dir, 'foreign.db'));
    foreign.exec('CREATE TABLE other (a)');
    foreign.close();
    renameSync(join(dir, 'foreign.db'), db);
    const foreignReport = await waitFor(async () => {
      const report = await health(server);
      return String(report.body.store_error).includes('camera_updates') || existsSync(`${db}-wal`) ? report : null;
    }, '/healthz to say why the file is not used', 10_000);
    expect(foreignReport.status).toBe(503);
    expect(queryStore<{ name: string }>(db, "SELECT name FROM sqlite_master WHERE type = 'table'").map((r) => r.name)).toEqual(['other']);
    rmSync(db);

    // Then the backup copied into place slowly, in chunks: nothing is written to it meanwhile.
    const fd = openSync(db, 'w');
    const chunk = 4096;
    let reason = '';
    for (let at = 0; at < bytes.length; at += chunk) {
      writeSync(fd, bytes, at, Math.min(chunk, bytes.length - at));
      if (at === 0 || at === chunk * 4) {
        const report = await waitFor(async () => {
          const r = await health(server);
          return String(r.body.store_error).includes('not a complete') || existsSync(`${db}-wal`) || existsSync(`${db}-journal`) ? r : null;
        }, '/healthz to name the partial file', 10_000);
        reason = String(report.body.store_error);
      } else {
        await health(server);
      }
      // The last chunk completes the copy: from then on the service may use (and write to) it.
      if (at + chunk >= bytes.length) break;
      expect(existsSync(`${db}-wal`), 'a -wal file next to the partial copy').toBe(false);
      const now = readFileSync(db);
      expect(now.length, 'size of the partial copy').toBe(at + chunk);
      expect(now.equals(bytes.subarray(0, now.length)), 'the partial copy unchanged').toBe(true);
    }
    closeSync(fd);
    console.log(`while copied: /healthz store_error "${reason}"`);

    // Complete now: used (without a restart), its journal mode left as it was, its rows intact.
    await waitFor(async () => (await health(server)).status === 200, '/healthz to recover', 10_000);
    await watcher.waitForMessage((m) => m.camera === 'back' && m.x === 2999, "the backup's latest state", 10_000);
    expect(queryStore<{ journal_mode: string }>(db, 'PRAGMA journal_mode')[0]!.journal_mode).toBe('delete');
    expect(queryStore<{ integrity_check: string }>(db, 'PRAGMA integrity_check')[0]!.integrity_check).toBe('ok');
    expect(queryStore<{ n: number }>(db, 'SELECT COUNT(*) AS n FROM camera_updates WHERE id <= 2000')[0]!.n).toBe(2000);
  });
});

describe('another process holds the write lock', () => {
  it('logs and reports the real cause, not [object Object]', async () => {
    const db = join(tempDir(), 'camera.db');
    const server = await startServer(['--db', db], { WIRECAM_PRODUCER_TOKEN: TOKEN });
    const p = await producer(server);
    const holder: Started = startProcess(['-e', `
      const Database = require('better-sqlite3');
      const db = new Database(${JSON.stringify(db)});
      db.exec('BEGIN IMMEDIATE');
      console.log('locked');
      process.stdin.on('data', () => { db.exec('COMMIT'); db.close(); process.exit(0); });`], { cwd: process.cwd() });
    await waitFor(() => holder.stdout.includes('locked'), 'the lock to be taken');
    p.sendJson({ type: 'camera_update', camera: 'locked', x: 1, y: 1, zoom: 1 });
    const line = await waitFor(() => server.logs().find((l) => l.msg === 'store write failed; retrying'), 'the failed write to be logged', 10_000);
    const report = await waitFor(async () => {
      const r = await health(server);
      return r.body.store === 'busy' && typeof r.body.store_error === 'string' && r.body.store_error.includes('waiting for the store since') ? r : null;
    }, '/healthz to report the failing writes', 10_000);
    console.log(`log err: "${String(line.err)}"; /healthz store_error: "${String(report.body.store_error)}"`);
    expect(String(line.err)).toMatch(/database is locked/);
    expect(String(line.err)).toContain('SQLITE_BUSY');
    expect(String(report.body.store_error)).toMatch(/database is locked/);
    expect(String(report.body.store_error)).not.toContain('[object Object]');
    holder.child.stdin!.write('release\n');
    await holder.exited;
    await p.waitForMessage((m) => m.type === 'ack', 'the update stored once the lock is gone', 10_000);
  });
});

describe('a reader pins the WAL while rows are written fast', () => {
  it('keeps the WAL bounded once the reader lets go, and exposes its size', async () => {
    const db = join(tempDir(), 'camera.db');
    const maxBytes = 4 * 1024 * 1024;
    const server = await startServer(['--db', db, '--wal-max-bytes', String(maxBytes)]);
    // An outside reader holding a read transaction (a snapshot) until told to let go.
    const reader: Started = startProcess(['-e', `
      const Database = require('better-sqlite3');
      const db = new Database(${JSON.stringify(db)});
      db.exec('BEGIN');
      db.prepare('SELECT COUNT(*) FROM camera_updates').get();
      console.log('reading');
      process.stdin.on('data', () => { db.exec('COMMIT'); db.close(); process.exit(0); });`], { cwd: process.cwd() });
    await waitFor(() => reader.stdout.includes('reading'), 'the reader to hold its snapshot');
    await writeRowsFromAnotherProcess({ db, burst: { camera: 'wal', count: 4000, perTransaction: 1 } });
    const pinned = statSync(`${db}-wal`).size;
    console.log(`WAL while pinned: ${(pinned / 1048576).toFixed(1)} MiB (bound ${maxBytes / 1048576} MiB)`);
    expect(pinned).toBeGreaterThan(maxBytes);
    // Said once, while it lasts: a reader holds the WAL.
    await waitFor(() => server.logs().find((l) => typeof l.msg === 'string' && l.msg.startsWith("the store's WAL is past --wal-max-bytes and a reader holds")), 'the pinned WAL to be logged');

    reader.child.stdin!.write('release\n');
    await reader.exited;
    const released = Date.now();
    await waitFor(() => (existsSync(`${db}-wal`) ? statSync(`${db}-wal`).size : 0) < maxBytes, 'the WAL to shrink below the bound', 15_000, 50);
    console.log(`WAL below the bound ${Date.now() - released} ms after the reader let go: ${statSync(`${db}-wal`).size} bytes`);
    const gauge = await waitFor(async () => {
      const value = await metric(server, 'wirecam_store_wal_bytes');
      return value !== null && value < maxBytes ? { value } : null;
    }, 'wirecam_store_wal_bytes below the bound');
    expect(gauge.value).toBeLessThan(maxBytes);
    expect(server.logs().filter((l) => typeof l.msg === 'string' && l.msg.startsWith("the store's WAL is past"))).toHaveLength(1);
    await stopProcess(server);
  });
});

describe("the locks of the service's connections", () => {
  // SQLite's locks are POSIX advisory locks, owned by the process: closing any descriptor of
  // the database file releases them all (SQLite doc: howtocorrupt.html, 2.2). A check that
  // read the file's header with a plain open/close while opening a worker connection did
  // that: the next short-lived writer process, closing its connection, believed it was the
  // last one and reset the WAL, and the store tail never saw another commit.
  it('keeps seeing commits of short-lived writer processes after worker connections were opened while running', async () => {
    const db = join(tempDir(), 'camera.db');
    const server = await startServer(['--db', db, '--producer-token', TOKEN, '--retain-rows', '100']);
    const watcher = await viewer(server);
    // A producer's update opens the worker pool's write connection now, while the reader runs.
    const sender = await producer(server);
    sender.sendJson({ type: 'camera_update', camera: 'opener', x: 1, y: 1, zoom: 1 });
    await waitFor(() => sender.messages.some((m) => m.type === 'ack'), 'the ack');
    for (let i = 1; i <= 4; i++) {
      // Each from its own sqlite3 shell, which opens, commits and closes the store (as the
      // last connection of its process, it checkpoints the WAL on close where it may).
      const output = await sqlite3(
        db,
        `PRAGMA busy_timeout = 5000;\nINSERT INTO camera_updates (camera, x, y, zoom, ts) VALUES ('main', ${i}, 0, 1, ${Date.now()});\nSELECT last_insert_rowid();\n`,
      );
      const lastId = Number(output.join('\n').trim().split('\n').pop());
      await waitFor(
        () => watcher.messages.some((m) => m.type === 'camera_update' && m.seq === lastId),
        `row ${lastId} from writer process ${i} to be broadcast`,
        10_000,
      );
    }
    await stopProcess(server);
  });
});
