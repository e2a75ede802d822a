// The decision "the store's sequence space was reset", its recovery on a real file, and
// the check a file must pass before a worker uses it.
import { afterAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { readFileSync, writeFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { openStore } from '../../src/store/open.js';
import { StoreReader } from '../../src/store/reader.js';
import { StoreWriter } from '../../src/store/writer.js';
import { detectStoreReset, resetSequenceSpace, sequencesBelow } from '../../src/store/sequence-reset.js';
import { checkStoreFile, StoreNotUsableError } from '../../src/store/attach.js';
import { StoreMissingError } from '../../src/store/identity.js';
import { removeTempDirs, tempDir } from '../helpers/tmp.js';

afterAll(() => removeTempDirs());

const at = (camera: number, tile: number) => ({ camera, tile });

describe('detectStoreReset', () => {
  it('names a replaced file, a counter below a sent seq, and newest camera rows removed', () => {
    const positions = { newest: at(10, 5), sequence: at(10, 5) };
    expect(detectStoreReset(at(10, 5), positions, at(10, 5), false)).toBeNull();
    expect(detectStoreReset(at(10, 5), positions, at(10, 5), true)?.cause).toBe('file_replaced');
    expect(detectStoreReset(at(12, 5), { newest: at(10, 5), sequence: at(10, 5) }, at(12, 5), false)?.cause).toBe('sequence_rolled_back');
    expect(detectStoreReset(at(10, 6), positions, null, false)).toMatchObject({ cause: 'sequence_rolled_back', detail: 'sqlite_sequence tile_updates 5 < seq 6 already sent' });
    expect(detectStoreReset(at(12, 5), { newest: at(10, 5), sequence: at(12, 5) }, at(12, 5), false)?.cause).toBe('rows_removed');
  });

  it('does not count what retention does: old rows gone, even every tile, counters untouched', () => {
    expect(detectStoreReset(at(10, 5), { newest: at(10, 0), sequence: at(10, 5) }, at(10, 5), false)).toBeNull();
    // After a recovery from a store without cameras, the same low newest id is no new reset.
    expect(detectStoreReset(at(12, 5), { newest: at(0, 0), sequence: at(12, 5) }, at(0, 0), false)).toBeNull();
  });

  it('sequencesBelow says which counter a write would reuse', () => {
    expect(sequencesBelow(at(5, 5), at(5, 5))).toBeNull();
    expect(sequencesBelow(at(4, 9), at(5, 5))).toBe('sqlite_sequence camera_updates 4 < seq 5 already sent');
  });
});

describe('resetSequenceSpace', () => {
  it('raises the counters above the sent seqs and re-records each camera’s latest valid state', () => {
    const path = join(tempDir(), 's.db');
    const db = openStore(path);
    const insert = db.prepare('INSERT INTO camera_updates (camera, x, y, zoom, ts) VALUES (?, ?, 0, ?, ?)');
    insert.run('a', 1, 1, 100);
    insert.run('b', 2, 1, 200);
    insert.run('b', 3, -1, 300); // invalid zoom: b's latest valid state is x = 2
    const reader = new StoreReader(db);
    const reset = resetSequenceSpace(db, reader, new StoreWriter(db), at(50, 7), { cause: 'sequence_rolled_back', detail: 'test' }, 1234);
    expect(reset).toMatchObject({ cursor: at(50, 7), cameras: ['a', 'b'], at: 1234 });
    expect(reader.positions().sequence).toEqual(at(52, 7));
    const rows = db.prepare('SELECT id, camera, x, ts FROM camera_updates WHERE id > 50 ORDER BY id').all();
    expect(rows).toEqual([{ id: 51, camera: 'a', x: 1, ts: 100 }, { id: 52, camera: 'b', x: 2, ts: 200 }]);
    db.close();
  });
});

describe('checkStoreFile', () => {
  it('accepts a wirecam store and refuses, without writing, what is missing, partial, not SQLite or foreign', () => {
    const dir = tempDir();
    const good = join(dir, 'good.db');
    const db = openStore(good);
    db.prepare('INSERT INTO camera_updates (camera, x, y, zoom, ts) VALUES (?, 1, 1, 1, 1)').run('a');
    db.pragma('wal_checkpoint(TRUNCATE)');
    db.close();
    expect(() => checkStoreFile(good)).not.toThrow();
    expect(() => checkStoreFile(join(dir, 'none.db'))).toThrow(StoreMissingError);

    const bytes = readFileSync(good);
    const partial = join(dir, 'partial.db');
    writeFileSync(partial, bytes.subarray(0, 4096));
    expect(() => checkStoreFile(partial)).toThrow(/still being copied/);
    writeFileSync(partial, bytes.subarray(0, 50));
    expect(() => checkStoreFile(partial)).toThrow(/less than an SQLite header/);
    expect(readFileSync(partial).length).toBe(50);

    const text = join(dir, 'text.db');
    writeFileSync(text, 'x'.repeat(4096));
    expect(() => checkStoreFile(text)).toThrow(/not an SQLite database/);

    const foreign = join(dir, 'foreign.db');
    const other = new Database(foreign);
    other.exec('CREATE TABLE camera_updates (id INTEGER PRIMARY KEY, camera TEXT)');
    other.close();
    expect(() => checkStoreFile(foreign)).toThrow(StoreNotUsableError);
    expect(() => checkStoreFile(foreign)).toThrow(/lacks column\(s\) x, y, zoom/);
  });
});
