// Keeps the store from growing without bound: rows older than the age limit or beyond the
// row limit are deleted, in chunks so that other writers are never locked out for long.
// Each camera's latest row is always kept: it is that camera's snapshot.
import type { Db } from './open.js';
import { recordTilesPruned } from './meta.js';

/** What retention keeps (--retain-seconds, --retain-rows); both 0: retention is off. */
export interface RetentionPolicy {
  /** Rows whose `ts` is older than this, in ms before `now`, are deleted; 0 keeps rows of any age. */
  maxAgeMs: number;
  /** At most this many rows per table are kept; 0 keeps any number. */
  maxRows: number;
}

/** Rows deleted per table per pruneOnce() call (one short write transaction each). */
const CHUNK = 5000;

/**
 * Deletes the rows a RetentionPolicy no longer keeps, on a write connection, a chunk at a
 * time. Each camera's latest row is kept whatever its age; tiles are not (the highest tile
 * seq deleted is recorded as the resume horizon, meta.ts, docs/protocol.md section 9.3).
 */
export class Retention {
  private readonly pruneCameras;
  private readonly pruneTiles;
  private readonly maxIds;

  constructor(db: Db) {
    this.pruneCameras = db.prepare(`
      DELETE FROM camera_updates WHERE id IN (
        SELECT id FROM camera_updates
        WHERE (id <= @idLimit OR ts < @tsLimit)
          AND id NOT IN (SELECT MAX(id) FROM camera_updates GROUP BY camera)
        ORDER BY id LIMIT ${CHUNK})`);
    // RETURNING: the deleted seqs, so the highest one becomes the resume horizon (meta.ts).
    const deleteTiles = db.prepare(`
      DELETE FROM tile_updates WHERE id IN (
        SELECT id FROM tile_updates WHERE id <= @idLimit OR ts < @tsLimit ORDER BY id LIMIT ${CHUNK})
      RETURNING id`).pluck();
    this.pruneTiles = {
      run: (params: { idLimit: number; tsLimit: number }) =>
        db.transaction(() => {
          const ids = deleteTiles.all(params) as number[];
          let highest = 0;
          for (const id of ids) if (id > highest) highest = id;
          if (highest > 0) recordTilesPruned(db, highest);
          return { changes: ids.length };
        })(),
    };
    this.maxIds = db.prepare(
      'SELECT (SELECT IFNULL(MAX(id), 0) FROM camera_updates) AS camera, (SELECT IFNULL(MAX(id), 0) FROM tile_updates) AS tile',
    );
  }

  /**
   * Deletes at most one chunk (5000 rows) per table; returns how many rows went (both tables).
   * Call again while > 0. `now`: ms since the Unix epoch, compared with `ts`. Throws what
   * SQLite throws (SQLITE_BUSY past the busy timeout, a read-only store); a failed chunk
   * deletes nothing.
   */
  pruneOnce(policy: RetentionPolicy, now: number): number {
    const max = this.maxIds.get() as { camera: number; tile: number };
    const tsLimit = policy.maxAgeMs > 0 ? now - policy.maxAgeMs : -Infinity;
    const idLimit = (maxId: number) => (policy.maxRows > 0 ? maxId - policy.maxRows : -1);
    const cameras = this.pruneCameras.run({ idLimit: idLimit(max.camera), tsLimit }).changes;
    const tiles = this.pruneTiles.run({ idLimit: idLimit(max.tile), tsLimit }).changes;
    return cameras + tiles;
  }
}
