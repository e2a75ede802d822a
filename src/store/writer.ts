// Writes accepted updates to the store, many per transaction (group commit), and returns
// each one's row id: the seq it will carry on the wire.
import type { UpdateInput } from '../protocol/messages.js';
import type { Db } from './open.js';

/**
 * Inserts validated updates (producers', `--source-cmd`'s, the re-recorded states of a reset)
 * on one write connection, with statements prepared once.
 */
export class StoreWriter {
  private readonly insertCamera;
  private readonly insertTile;
  private readonly insertAll;

  constructor(db: Db) {
    this.insertCamera = db.prepare(
      'INSERT INTO camera_updates (camera, x, y, zoom, target_x, target_y, target_zoom, ts) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    );
    this.insertTile = db.prepare('INSERT INTO tile_updates (x, y, brick, ts) VALUES (?, ?, ?, ?)');
    this.insertAll = db.transaction((updates: readonly UpdateInput[]): number[] =>
      updates.map((update) => Number(this.insertOne(update).lastInsertRowid)),
    );
  }

  /**
   * Stores `updates` in one transaction (nested in the caller's, if any) and returns each
   * one's row id, which is its seq, in the order given. All or nothing: on error (SQLITE_BUSY
   * past the busy timeout, a full disk, a read-only store) no update of the batch is stored
   * and the error is thrown.
   */
  insert(updates: readonly UpdateInput[]): number[] {
    return this.insertAll(updates);
  }

  private insertOne(update: UpdateInput) {
    if (update.kind === 'tile') {
      const t = update.value;
      return this.insertTile.run(t.x, t.y, t.brick, t.timestamp);
    }
    const c = update.value;
    return this.insertCamera.run(c.camera, c.x, c.y, c.zoom, c.target_x, c.target_y, c.target_zoom, c.timestamp);
  }
}
