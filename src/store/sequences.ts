// Keeps seq moving forward across a store that was replaced: the ids SQLite hands out next
// (AUTOINCREMENT's sqlite_sequence) are raised to at least the highest seq already sent, so
// no seq is ever reused, whatever file now sits at the store's path.
import type { Db } from './open.js';
import type { Cursor } from './reader.js';

/**
 * Raises each table's AUTOINCREMENT counter in sqlite_sequence to at least `floor` (row ids,
 * whole numbers; a counter already higher is left alone), in one transaction, so the next
 * insert gets an id above it (SQLite doc: autoinc.html). Throws what SQLite throws
 * (SQLITE_BUSY past the busy timeout, a read-only store); then nothing changed.
 */
export function raiseSequences(db: Db, floor: Cursor): void {
  const raise = db.transaction(() => {
    for (const [table, value] of [['camera_updates', floor.camera], ['tile_updates', floor.tile]] as const) {
      // An INTEGER, as SQLite keeps it (a JavaScript number would be bound as REAL).
      const seq = BigInt(Math.trunc(value));
      const row = db.prepare('SELECT seq FROM sqlite_sequence WHERE name = ?').get(table) as { seq: number } | undefined;
      if (row === undefined) db.prepare('INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)').run(table, seq);
      else if (BigInt(row.seq) < seq) db.prepare('UPDATE sqlite_sequence SET seq = ? WHERE name = ?').run(seq, table);
    }
  });
  raise();
}
