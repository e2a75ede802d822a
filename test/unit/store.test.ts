// The SQLite store on real files: opening, writing, reading with validation, snapshots and
// retention. Rows that other programs write are inserted with a separate connection and raw
// SQL, as a compositor writing to the same file would.
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openStore, StoreOpenError, type Db } from '../../src/store/open.js';
import { StoreWriter } from '../../src/store/writer.js';
import { StoreReader } from '../../src/store/reader.js';
import { Retention } from '../../src/store/retention.js';
import type { CameraInput, TileInput, UpdateInput } from '../../src/protocol/messages.js';
import { removeTempDirs, tempDir } from '../helpers/tmp.js';

const TS = 1_795_000_000_123;

const opened: Array<{ close(): unknown }> = [];
afterEach(() => {
  for (const db of opened.splice(0)) db.close();
});
afterAll(() => removeTempDirs());

function freshStore(): { path: string; db: Db } {
  const path = join(tempDir(), 'store.db');
  const db = openStore(path);
  opened.push(db);
  return { path, db };
}

/** Another connection to the same file: the "other process" that writes rows. */
function otherConnection(path: string): Database.Database {
  const db = new Database(path);
  db.pragma('busy_timeout = 5000');
  opened.push(db);
  return db;
}

function cam(overrides: Partial<CameraInput> = {}): UpdateInput {
  return {
    kind: 'camera',
    value: { camera: 'main', x: 1, y: 2, zoom: 1, target_x: null, target_y: null, target_zoom: null, timestamp: TS, ...overrides },
  };
}

function tile(overrides: Partial<TileInput> = {}): UpdateInput {
  return { kind: 'tile', value: { x: 1, y: 2, brick: 'grass', timestamp: TS, ...overrides } };
}

/** Inserts a camera row by raw SQL; `values` are SQL expressions, unvalidated. */
function rawCamera(db: Database.Database, values: Partial<Record<'camera' | 'x' | 'y' | 'zoom' | 'target_x' | 'target_y' | 'target_zoom' | 'ts', string>>): number {
  const row = { camera: "'main'", x: '1', y: '2', zoom: '1', target_x: 'NULL', target_y: 'NULL', target_zoom: 'NULL', ts: String(TS), ...values };
  const sql = `INSERT INTO camera_updates (camera, x, y, zoom, target_x, target_y, target_zoom, ts)
    VALUES (${row.camera}, ${row.x}, ${row.y}, ${row.zoom}, ${row.target_x}, ${row.target_y}, ${row.target_zoom}, ${row.ts})`;
  return Number(db.prepare(sql).run().lastInsertRowid);
}

function rawTile(db: Database.Database, values: Partial<Record<'x' | 'y' | 'brick' | 'ts', string>>): number {
  const row = { x: '1', y: '2', brick: "'grass'", ts: String(TS), ...values };
  return Number(db.prepare(`INSERT INTO tile_updates (x, y, brick, ts) VALUES (${row.x}, ${row.y}, ${row.brick}, ${row.ts})`).run().lastInsertRowid);
}

describe('openStore', () => {
  it('creates missing folders with mode 0755 and the database file in them', () => {
    const root = tempDir();
    const path = join(root, 'data', 'nested', 'wiercam_update.db');
    opened.push(openStore(path));
    expect(existsSync(path)).toBe(true);
    expect(statSync(join(root, 'data', 'nested')).mode & 0o777).toBe(0o755);
    expect(statSync(join(root, 'data')).mode & 0o777).toBe(0o755);
  });

  // process.umask(mask) works here because vitest.config.ts runs test files in forks, not threads.
  it('gives the folders it creates mode 0755 even under a restrictive umask', () => {
    const root = tempDir();
    const previous = process.umask(0o077);
    try {
      opened.push(openStore(join(root, 'a', 'b', 'store.db')));
    } finally {
      process.umask(previous);
    }
    expect(statSync(join(root, 'a', 'b')).mode & 0o777).toBe(0o755);
    expect(statSync(join(root, 'a')).mode & 0o777).toBe(0o755);
  });

  it('leaves the mode of a folder that already existed alone', () => {
    const root = tempDir(); // mkdtemp makes it 0700
    opened.push(openStore(join(root, 'store.db')));
    expect(statSync(root).mode & 0o777).toBe(0o700);
  });

  it('uses WAL mode and creates the schema', () => {
    const { db } = freshStore();
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").pluck().all();
    expect(tables).toEqual(expect.arrayContaining(['camera_updates', 'tile_updates', 'sqlite_sequence']));
    const columns = (table: string) => db.prepare(`SELECT name FROM pragma_table_info('${table}') ORDER BY cid`).pluck().all();
    expect(columns('camera_updates')).toEqual(['id', 'camera', 'x', 'y', 'zoom', 'target_x', 'target_y', 'target_zoom', 'ts']);
    expect(columns('tile_updates')).toEqual(['id', 'x', 'y', 'brick', 'ts']);
  });

  it('opens an existing store again without losing rows', () => {
    const { path, db } = freshStore();
    new StoreWriter(db).insert([cam()]);
    const again = openStore(path);
    opened.push(again);
    expect(again.prepare('SELECT COUNT(*) FROM camera_updates').pluck().get()).toBe(1);
  });

  it('applies synchronous and busy_timeout options', () => {
    const db = openStore(join(tempDir(), 's.db'), { synchronous: 'FULL', busyTimeoutMs: 1234 });
    opened.push(db);
    expect(db.pragma('synchronous', { simple: true })).toBe(2); // FULL
    expect(db.pragma('busy_timeout', { simple: true })).toBe(1234);
  });

  it('throws StoreOpenError naming the path when its folder cannot be created', () => {
    const file = join(tempDir(), 'plain-file');
    writeFileSync(file, 'not a folder');
    const path = join(file, 'sub', 'store.db');
    let caught: unknown;
    try {
      openStore(path);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(StoreOpenError);
    expect((caught as StoreOpenError).message).toContain(path);
    expect((caught as StoreOpenError).path).toBe(path);
  });

  it('throws StoreOpenError naming the path when the file is not a database', () => {
    const path = join(tempDir(), 'garbage.db');
    writeFileSync(path, Buffer.alloc(4096, 0x5a));
    expect(() => openStore(path)).toThrow(StoreOpenError);
    expect(() => openStore(path)).toThrow(path);
  });
});

describe('StoreWriter', () => {
  it('returns increasing ids, one per update, in order', () => {
    const { db } = freshStore();
    const writer = new StoreWriter(db);
    const first = writer.insert([cam(), cam({ camera: 'side' }), cam()]);
    const second = writer.insert([cam()]);
    const ids = [...first, ...second];
    expect(ids).toHaveLength(4);
    for (let i = 1; i < ids.length; i++) expect(ids[i]!).toBeGreaterThan(ids[i - 1]!);
  });

  it('numbers tiles and cameras separately', () => {
    const { db } = freshStore();
    expect(new StoreWriter(db).insert([cam(), tile(), cam(), tile()])).toEqual([1, 1, 2, 2]);
  });

  it('stores absent targets as NULL and every given field as is', () => {
    const { db } = freshStore();
    const [id] = new StoreWriter(db).insert([cam({ camera: 'side', x: -1.5, target_y: 9 })]);
    expect(db.prepare('SELECT * FROM camera_updates WHERE id = ?').get(id)).toEqual({
      id, camera: 'side', x: -1.5, y: 2, zoom: 1, target_x: null, target_y: 9, target_zoom: null, ts: TS,
    });
  });

  it('never reuses an id after the newest row is deleted (AUTOINCREMENT)', () => {
    const { db } = freshStore();
    const writer = new StoreWriter(db);
    const [, newest] = writer.insert([cam(), cam()]);
    db.prepare('DELETE FROM camera_updates WHERE id = ?').run(newest);
    const [next] = writer.insert([cam()]);
    expect(next).toBeGreaterThan(newest!);
  });

  it('never reuses an id after every row is deleted', () => {
    const { db } = freshStore();
    const writer = new StoreWriter(db);
    const [last] = writer.insert([cam(), cam(), cam()]).slice(-1);
    db.exec('DELETE FROM camera_updates');
    expect(writer.insert([cam()])[0]).toBeGreaterThan(last!);
  });

  it('stores nothing of a batch when one update fails', () => {
    const { db } = freshStore();
    const bad = { kind: 'tile', value: { x: 1, y: 2, brick: null, timestamp: TS } } as unknown as UpdateInput;
    expect(() => new StoreWriter(db).insert([cam(), bad])).toThrow();
    expect(db.prepare('SELECT COUNT(*) FROM camera_updates').pluck().get()).toBe(0);
  });
});

describe('StoreReader.read', () => {
  it('returns valid rows in id order and moves the cursor to the last id', () => {
    const { db } = freshStore();
    const ids = new StoreWriter(db).insert([cam({ x: 10 }), tile({ brick: 'a' }), cam({ camera: 'side', x: 20, target_zoom: 3 }), tile({ brick: 'b' })]);
    const batch = new StoreReader(db).read({ camera: 0, tile: 0 }, 100);
    expect(batch.cameras).toEqual([
      { seq: ids[0], value: { camera: 'main', x: 10, y: 2, zoom: 1, target_x: null, target_y: null, target_zoom: null, timestamp: TS } },
      { seq: ids[2], value: { camera: 'side', x: 20, y: 2, zoom: 1, target_x: null, target_y: null, target_zoom: 3, timestamp: TS } },
    ]);
    expect(batch.tiles).toEqual([
      { seq: ids[1], value: { x: 1, y: 2, brick: 'a', timestamp: TS } },
      { seq: ids[3], value: { x: 1, y: 2, brick: 'b', timestamp: TS } },
    ]);
    expect(batch.rejected).toEqual([]);
    expect(batch.cursor).toEqual({ camera: ids[2], tile: ids[3] });
    expect(batch.more).toBe(false);
  });

  it('reads only rows after the cursor', () => {
    const { db } = freshStore();
    const writer = new StoreWriter(db);
    const reader = new StoreReader(db);
    writer.insert([cam(), cam(), tile()]);
    const first = reader.read({ camera: 0, tile: 0 }, 100);
    const [later] = writer.insert([cam({ x: 99 })]);
    const second = reader.read(first.cursor, 100);
    expect(second.cameras.map((c) => c.seq)).toEqual([later]);
    expect(second.tiles).toEqual([]);
    expect(second.cursor).toEqual({ camera: later, tile: first.cursor.tile });
  });

  it('reads the same rows when told the newest ids, querying only the tables that have new rows', () => {
    const { db } = freshStore();
    const writer = new StoreWriter(db);
    const reader = new StoreReader(db);
    writer.insert([cam(), tile(), cam({ x: 5 })]);
    const start = { camera: 0, tile: 0 };
    expect(reader.read(start, 100, reader.positions().newest)).toEqual(reader.read(start, 100));
    const first = reader.read(start, 100);
    writer.insert([cam({ x: 7 })]);
    const newest = reader.positions().newest;
    expect(newest.tile).toBe(first.cursor.tile);
    const second = reader.read(first.cursor, 100, newest);
    expect(second).toEqual(reader.read(first.cursor, 100));
    expect(second.cameras.map((c) => c.value.x)).toEqual([7]);
    // A limit that is reached says so, whichever way the rows were read.
    writer.insert([cam(), cam()]);
    expect(reader.read(second.cursor, 1, reader.positions().newest)).toMatchObject({ more: true });
  });

  it('refuses a limit that is not a positive integer', () => {
    const { db } = freshStore();
    const reader = new StoreReader(db);
    for (const limit of [0, -1, 1.5, Number.NaN]) expect(() => reader.read({ camera: 0, tile: 0 }, limit)).toThrow(RangeError);
  });

  it('returns an empty batch and the same cursor when nothing is new', () => {
    const { db } = freshStore();
    const batch = new StoreReader(db).read({ camera: 5, tile: 7 }, 10);
    expect(batch).toEqual({ cameras: [], tiles: [], rejected: [], cursor: { camera: 5, tile: 7 }, more: false });
  });

  it.each([
    ['camera "bad id!"', { camera: "'bad id!'" }, 'bad_camera'],
    ['an empty camera id', { camera: "''" }, 'bad_camera'],
    ['camera as a blob', { camera: "X'6d61696e'" }, 'bad_camera'],
    ['x as TEXT "abc"', { x: "'abc'" }, 'non_finite'],
    ['x = 9e999 (Infinity)', { x: '9e999' }, 'non_finite'],
    ['y = -9e999 (-Infinity)', { y: '-9e999' }, 'non_finite'],
    ['x as a blob', { x: "X'00'" }, 'non_finite'],
    ['target_x as TEXT', { target_x: "'left'" }, 'non_finite'],
    ['target_y = 9e999', { target_y: '9e999' }, 'non_finite'],
    ['zoom 0', { zoom: '0' }, 'bad_zoom'],
    ['zoom negative', { zoom: '-2' }, 'bad_zoom'],
    ['target_zoom -1', { target_zoom: '-1' }, 'bad_zoom'],
    ['target_zoom 0', { target_zoom: '0' }, 'bad_zoom'],
    ['ts as TEXT "soon"', { ts: "'soon'" }, 'bad_timestamp'],
    ['a negative ts', { ts: '-1' }, 'bad_timestamp'],
    ['ts as a blob', { ts: "X'01'" }, 'bad_timestamp'],
  ] as const)('rejects a camera row with %s as %s and moves past it', (_name, values, reason) => {
    const { path, db } = freshStore();
    const other = otherConnection(path);
    const before = rawCamera(other, {});
    const bad = rawCamera(other, values);
    const after = rawCamera(other, { x: '3' });
    const batch = new StoreReader(db).read({ camera: 0, tile: 0 }, 100);
    expect(batch.cameras.map((c) => c.seq)).toEqual([before, after]);
    expect(batch.rejected).toEqual([{ table: 'camera_updates', id: bad, reason }]);
    expect(batch.cursor.camera).toBe(after);
  });

  it.each([
    ['x 1.5', { x: '1.5' }, 'bad_tile_coordinate'],
    ['y as TEXT', { y: "'north'" }, 'bad_tile_coordinate'],
    ['x = 9e999', { x: '9e999' }, 'bad_tile_coordinate'],
    ['x as a blob', { x: "X'01'" }, 'bad_tile_coordinate'],
    ['an empty brick', { brick: "''" }, 'bad_brick'],
    ['a brick of 257 characters', { brick: `'${'b'.repeat(257)}'` }, 'bad_brick'],
    ['brick as a blob', { brick: "X'6772617373'" }, 'bad_brick'],
    ['ts as TEXT', { ts: "'soon'" }, 'bad_timestamp'],
  ] as const)('rejects a tile row with %s as %s and moves past it', (_name, values, reason) => {
    const { path, db } = freshStore();
    const other = otherConnection(path);
    const before = rawTile(other, {});
    const bad = rawTile(other, values);
    const after = rawTile(other, { brick: "'stone'" });
    const batch = new StoreReader(db).read({ camera: 0, tile: 0 }, 100);
    expect(batch.tiles.map((t) => t.seq)).toEqual([before, after]);
    expect(batch.rejected).toEqual([{ table: 'tile_updates', id: bad, reason }]);
    expect(batch.cursor.tile).toBe(after);
  });

  it('moves the cursor past a batch made only of invalid rows', () => {
    const { path, db } = freshStore();
    const other = otherConnection(path);
    rawCamera(other, { zoom: '0' });
    const last = rawCamera(other, { camera: "'no good'" });
    const batch = new StoreReader(db).read({ camera: 0, tile: 0 }, 100);
    expect(batch.cameras).toEqual([]);
    expect(batch.rejected.map((r) => r.reason)).toEqual(['bad_zoom', 'bad_camera']);
    expect(batch.cursor.camera).toBe(last);
  });

  it('accepts numeric text that SQLite converts to a number, and truncates a fractional ts', () => {
    const { path, db } = freshStore();
    const other = otherConnection(path);
    rawCamera(other, { x: "'12.5'", ts: '1795000000123.75' });
    const [row] = new StoreReader(db).read({ camera: 0, tile: 0 }, 10).cameras;
    expect(row?.value).toMatchObject({ x: 12.5, timestamp: 1_795_000_000_123 });
  });

  it('reads at most `limit` rows per table and says there may be more', () => {
    const { db } = freshStore();
    const writer = new StoreWriter(db);
    const ids = writer.insert([cam(), cam(), cam(), cam(), cam()]);
    const reader = new StoreReader(db);
    const first = reader.read({ camera: 0, tile: 0 }, 2);
    expect(first.cameras.map((c) => c.seq)).toEqual(ids.slice(0, 2));
    expect(first.more).toBe(true);
    const second = reader.read(first.cursor, 2);
    expect(second.cameras.map((c) => c.seq)).toEqual(ids.slice(2, 4));
    expect(second.more).toBe(true);
    const third = reader.read(second.cursor, 2);
    expect(third.cameras.map((c) => c.seq)).toEqual(ids.slice(4));
    expect(third.more).toBe(false);
  });

  it('counts rejected rows towards the limit, so `more` is set for a full batch of bad rows', () => {
    const { path, db } = freshStore();
    const other = otherConnection(path);
    rawCamera(other, { zoom: '0' });
    rawCamera(other, { zoom: '0' });
    rawCamera(other, {});
    const batch = new StoreReader(db).read({ camera: 0, tile: 0 }, 2);
    expect(batch.rejected).toHaveLength(2);
    expect(batch.more).toBe(true);
  });

  it('sets `more` when only the tile table filled the limit', () => {
    const { db } = freshStore();
    new StoreWriter(db).insert([cam(), tile(), tile(), tile()]);
    const batch = new StoreReader(db).read({ camera: 0, tile: 0 }, 3);
    expect(batch.cameras).toHaveLength(1);
    expect(batch.tiles).toHaveLength(3);
    expect(batch.more).toBe(true);
  });
});

describe('StoreReader.currentDataVersion', () => {
  it('changes after another connection commits, and not otherwise', () => {
    const { path, db } = freshStore();
    const reader = new StoreReader(db);
    const other = otherConnection(path);

    const initial = reader.currentDataVersion();
    expect(reader.currentDataVersion()).toBe(initial);

    // This connection's own commits are not news to it.
    new StoreWriter(db).insert([cam()]);
    expect(reader.currentDataVersion()).toBe(initial);

    rawCamera(other, {});
    const afterOther = reader.currentDataVersion();
    expect(afterOther).not.toBe(initial);
    expect(reader.currentDataVersion()).toBe(afterOther);

    // A rolled-back transaction of the other connection commits nothing.
    other.exec('BEGIN IMMEDIATE');
    rawCamera(other, {});
    other.exec('ROLLBACK');
    expect(reader.currentDataVersion()).toBe(afterOther);
  });
});

describe('StoreReader.snapshot', () => {
  it('is empty with a zero cursor for an empty store', () => {
    const { db } = freshStore();
    expect(new StoreReader(db).snapshot()).toEqual({ cameras: [], cursor: { camera: 0, tile: 0 } });
  });

  it("returns each camera's latest row, in seq order, and the cursor at the max ids", () => {
    const { db } = freshStore();
    const ids = new StoreWriter(db).insert([
      cam({ camera: 'main', x: 1 }),
      cam({ camera: 'side', x: 2 }),
      cam({ camera: 'main', x: 3 }),
      tile(),
      cam({ camera: 'top', x: 4 }),
      tile(),
      cam({ camera: 'side', x: 5 }),
    ]);
    const { cameras, cursor } = new StoreReader(db).snapshot();
    expect(cameras.map((c) => [c.value.camera, c.seq, c.value.x])).toEqual([
      ['main', ids[2], 3],
      ['top', ids[4], 4],
      ['side', ids[6], 5],
    ]);
    expect(cursor).toEqual({ camera: ids[6], tile: ids[5] });
  });

  it("falls back past a camera's invalid newest rows to its latest valid one", () => {
    const { path, db } = freshStore();
    const other = otherConnection(path);
    const good = rawCamera(other, { x: '7' });
    rawCamera(other, { zoom: '0' });
    const newest = rawCamera(other, { x: '9e999' });
    const { cameras, cursor } = new StoreReader(db).snapshot();
    expect(cameras).toEqual([{ seq: good, value: expect.objectContaining({ camera: 'main', x: 7 }) }]);
    // Live reading starts after the invalid rows too: they are never delivered.
    expect(cursor.camera).toBe(newest);
  });

  it('leaves out a camera whose every row is invalid, and ids that are not camera ids', () => {
    const { path, db } = freshStore();
    const other = otherConnection(path);
    const main = rawCamera(other, {});
    rawCamera(other, { camera: "'broken'", zoom: '-1' });
    rawCamera(other, { camera: "'bad id!'" });
    const blob = rawCamera(other, { camera: "X'00'" });
    const { cameras, cursor } = new StoreReader(db).snapshot();
    expect(cameras.map((c) => c.seq)).toEqual([main]);
    expect(cursor.camera).toBe(blob);
  });
});

describe('Retention.pruneOnce', () => {
  const ids = (db: Db, table: string) => db.prepare(`SELECT id FROM ${table} ORDER BY id`).pluck().all() as number[];

  it('keeps at most maxRows rows per table, by id', () => {
    const { db } = freshStore();
    const written = new StoreWriter(db).insert(Array.from({ length: 10 }, () => cam()));
    const tiles = new StoreWriter(db).insert(Array.from({ length: 6 }, () => tile()));
    const deleted = new Retention(db).pruneOnce({ maxRows: 4, maxAgeMs: 0 }, TS);
    expect(deleted).toBe(6 + 2);
    expect(ids(db, 'camera_updates')).toEqual(written.slice(-4));
    expect(ids(db, 'tile_updates')).toEqual(tiles.slice(-4));
  });

  it("keeps each camera's latest row even when it is beyond maxRows", () => {
    const { db } = freshStore();
    const written = new StoreWriter(db).insert([
      cam({ camera: 'old' }),
      cam({ camera: 'main' }),
      cam({ camera: 'side' }),
      cam({ camera: 'main' }),
      cam({ camera: 'main' }),
    ]);
    new Retention(db).pruneOnce({ maxRows: 1, maxAgeMs: 0 }, TS);
    expect(ids(db, 'camera_updates')).toEqual([written[0], written[2], written[4]]);
  });

  it('deletes rows older than maxAgeMs', () => {
    const { db } = freshStore();
    const now = TS;
    const written = new StoreWriter(db).insert([
      cam({ timestamp: now - 10_000 }),
      cam({ timestamp: now - 5_001 }),
      cam({ timestamp: now - 5_000 }),
      cam({ timestamp: now }),
      tile({ timestamp: now - 9_000 }),
      tile({ timestamp: now - 1 }),
    ]);
    const deleted = new Retention(db).pruneOnce({ maxRows: 0, maxAgeMs: 5_000 }, now);
    expect(deleted).toBe(3);
    expect(ids(db, 'camera_updates')).toEqual([written[2], written[3]]);
    expect(ids(db, 'tile_updates')).toEqual([written[5]]);
  });

  it("keeps each camera's latest row however old it is", () => {
    const { db } = freshStore();
    const written = new StoreWriter(db).insert([
      cam({ camera: 'main', timestamp: TS - 99_000 }),
      cam({ camera: 'main', timestamp: TS - 90_000 }),
      cam({ camera: 'idle', timestamp: TS - 80_000 }),
    ]);
    new Retention(db).pruneOnce({ maxRows: 0, maxAgeMs: 1_000 }, TS);
    expect(ids(db, 'camera_updates')).toEqual([written[1], written[2]]);
    // The snapshot still has both cameras.
    expect(new StoreReader(db).snapshot().cameras.map((c) => c.value.camera).sort()).toEqual(['idle', 'main']);
  });

  it('deletes nothing when both limits are 0', () => {
    const { db } = freshStore();
    new StoreWriter(db).insert([cam({ timestamp: 0 }), cam({ timestamp: 0 }), tile({ timestamp: 0 })]);
    expect(new Retention(db).pruneOnce({ maxRows: 0, maxAgeMs: 0 }, TS)).toBe(0);
    expect(ids(db, 'camera_updates')).toHaveLength(2);
    expect(ids(db, 'tile_updates')).toHaveLength(1);
  });

  it('deletes in chunks: calling again until 0 finishes the job', () => {
    const { db } = freshStore();
    const writer = new StoreWriter(db);
    writer.insert(Array.from({ length: 12_000 }, (_, i) => cam({ timestamp: i })));
    const retention = new Retention(db);
    const rounds: number[] = [];
    for (let n = retention.pruneOnce({ maxRows: 10, maxAgeMs: 0 }, TS); n > 0; n = retention.pruneOnce({ maxRows: 10, maxAgeMs: 0 }, TS)) {
      rounds.push(n);
    }
    expect(rounds.length).toBeGreaterThan(1);
    expect(rounds.reduce((a, b) => a + b, 0)).toBe(12_000 - 10);
  });

  it('does not let ids be reused after pruning', () => {
    const { db } = freshStore();
    const writer = new StoreWriter(db);
    const written = writer.insert([cam({ camera: 'a' }), cam({ camera: 'b' }), cam({ camera: 'b' })]);
    new Retention(db).pruneOnce({ maxRows: 1, maxAgeMs: 0 }, TS);
    db.exec('DELETE FROM camera_updates'); // even with every row gone
    expect(writer.insert([cam()])[0]).toBeGreaterThan(written[2]!);
  });
});
