// The store reader fed random rows (any SQLite type in any column), under fast-check: it
// delivers exactly the valid rows, in id order, whatever the batch size, and its cursor
// moves past every row, valid or not.
import { afterAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { openStore } from '../../src/store/open.js';
import { StoreReader, type Cursor } from '../../src/store/reader.js';
import { tempDir, removeTempDirs } from '../helpers/tmp.js';

afterAll(() => removeTempDirs());

/** Any SQLite value: integer, real (infinities included), text (numeric-looking too), blob, null. */
const sqliteValue = fc.oneof(
  fc.integer({ min: -1e6, max: 1e6 }),
  fc.double({ noNaN: true }),
  fc.constantFrom(Infinity, -Infinity, 0, -1, 1.5, 1e300, 2 ** 53),
  fc.constantFrom('main', 'cam-1', 'a.b:c_d-e', 'bad id', '', '12.5', '1e3', ' 7 ', 'x'.repeat(65)),
  fc.string({ maxLength: 8 }),
  fc.uint8Array({ maxLength: 4 }).map((b) => Buffer.from(b)),
  fc.constant(null),
);

const cameraRow = fc.record({
  camera: sqliteValue,
  x: sqliteValue,
  y: sqliteValue,
  zoom: sqliteValue,
  target_x: sqliteValue,
  target_y: sqliteValue,
  target_zoom: sqliteValue,
  ts: sqliteValue,
});

// The rules of the README and docs/protocol.md, written again independently of src/protocol.
const CAMERA = /^[A-Za-z0-9_.:-]{1,64}$/;
const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
function expectedValid(row: Record<string, unknown>): boolean {
  if (!(typeof row.camera === 'string' && CAMERA.test(row.camera))) return false;
  if (!finite(row.x) || !finite(row.y) || !finite(row.zoom) || row.zoom <= 0) return false;
  for (const key of ['target_x', 'target_y', 'target_zoom']) if (row[key] !== null && !finite(row[key])) return false;
  if (row.target_zoom !== null && (row.target_zoom as number) <= 0) return false;
  return finite(row.ts) && row.ts >= 0 && row.ts <= Number.MAX_SAFE_INTEGER;
}

let counter = 0;

describe('the store reader under random rows', () => {
  it('delivers exactly the valid rows, in order, for any batch size', () => {
    fc.assert(
      fc.property(fc.array(cameraRow, { maxLength: 40 }), fc.integer({ min: 1, max: 17 }), (rows, limit) => {
        const path = join(tempDir(), `store-${counter++}.db`);
        const db = openStore(path);
        const writer = new Database(path);
        const insert = writer.prepare(
          'INSERT INTO camera_updates (camera, x, y, zoom, target_x, target_y, target_zoom, ts) VALUES (@camera, @x, @y, @zoom, @target_x, @target_y, @target_zoom, @ts)',
        );
        for (const row of rows) {
          try {
            insert.run(row);
          } catch {
            // A NOT NULL column given NULL: SQLite refuses the row, as it would any producer's.
          }
        }
        // What SQLite actually stored (type affinity converts '12.5' to 12.5 in a REAL column).
        const stored = writer.prepare('SELECT * FROM camera_updates ORDER BY id').all() as Array<Record<string, unknown>>;
        writer.close();
        const expected = stored.filter(expectedValid).map((r) => r.id as number);

        const reader = new StoreReader(db);
        let cursor: Cursor = { camera: 0, tile: 0 };
        const delivered: number[] = [];
        let rejected = 0;
        for (let rounds = 0; rounds < 100; rounds++) {
          const batch = reader.read(cursor, limit);
          delivered.push(...batch.cameras.map((c) => c.seq));
          rejected += batch.rejected.length;
          for (const c of batch.cameras) {
            const row = stored.find((r) => r.id === c.seq)!;
            expect(c.value.camera).toBe(row.camera);
            expect(c.value.x).toBe(row.x);
            expect(c.value.target_zoom).toBe(row.target_zoom);
          }
          if (batch.cursor.camera === cursor.camera) break;
          cursor = batch.cursor;
        }
        db.close();
        expect(delivered).toEqual(expected);
        expect(rejected).toBe(stored.length - expected.length);
        expect(cursor.camera).toBe(stored.at(-1)?.id ?? 0);
      }),
      { numRuns: 150 },
    );
  });
});
