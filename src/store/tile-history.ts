// Reading the map and the tile history from the store (docs/protocol.md section 9), in bounded
// batches, in seq order. Runs in the store worker; rows are validated like the store tail's
// and invalid ones skipped.
import type { TileInput } from '../protocol/messages.js';
import { checkTile } from '../protocol/validate.js';
import type { Db } from './open.js';
import type { TileRow } from './reader.js';

/** One batch of tile rows read by TileHistoryReader. */
export interface TileRows {
  /** Valid tiles in seq order: seq = row id, value = the validated tile (invalid rows skipped). */
  tiles: Array<{ seq: number; value: TileInput }>;
  /** The highest seq looked at (read on from here); `after` when none was. */
  last: number;
  /** More rows may follow: read again from `last`. */
  more: boolean;
}

/**
 * The map and the tile history (docs/protocol.md section 9.3, step 2), as statements prepared
 * once on one connection. Methods run synchronously and throw what SQLite throws (busy past
 * the busy timeout, I/O, a store without tile_updates).
 */
export class TileHistoryReader {
  private readonly latestAfter;
  private readonly rowsAfter;

  constructor(db: Db) {
    // A row is its coordinate's latest (up to `upTo`) when no later row of that coordinate
    // exists up to `upTo`: one seek in tile_updates_by_coordinate (x, y, id) per row.
    this.latestAfter = db.prepare(`
      SELECT t.id, t.x, t.y, t.brick, t.ts FROM tile_updates t
      WHERE t.id > @after AND t.id <= @upTo
        AND NOT EXISTS (SELECT 1 FROM tile_updates u WHERE u.x = t.x AND u.y = t.y AND u.id > t.id AND u.id <= @upTo)
      ORDER BY t.id LIMIT @limit`);
    this.rowsAfter = db.prepare('SELECT id, x, y, brick, ts FROM tile_updates WHERE id > @after AND id <= @upTo ORDER BY id LIMIT @limit');
  }

  /**
   * The map as of seq `upTo`: each coordinate's latest tile with a seq in (after, upTo], at
   * most `limit` of them, in seq order. Page with `after` = the previous `last`. Seqs are row
   * ids; `limit` is in rows.
   */
  latestPerCoordinate(after: number, upTo: number, limit: number): TileRows {
    return this.collect(this.latestAfter.all({ after, upTo, limit }) as TileRow[], after, limit);
  }

  /** Every tile with a seq in (after, upTo], at most `limit`, in seq order. */
  tilesAfter(after: number, upTo: number, limit: number): TileRows {
    return this.collect(this.rowsAfter.all({ after, upTo, limit }) as TileRow[], after, limit);
  }

  private collect(rows: readonly TileRow[], after: number, limit: number): TileRows {
    const out: TileRows = { tiles: [], last: after, more: rows.length === limit };
    for (const row of rows) {
      const checked = checkTile({ ...row, timestamp: row.ts }, null, 'truncate');
      if (checked.ok) out.tiles.push({ seq: row.id, value: checked.value });
      out.last = row.id;
    }
    return out;
  }
}
