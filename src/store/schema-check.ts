// Whether the tables in an SQLite file are wirecam's (schema.ts): the columns wirecam reads
// and writes, and AUTOINCREMENT ids. Read only: sqlite_master and PRAGMA table_info.
import type Database from 'better-sqlite3';

/** The columns wirecam reads and writes (schema.ts); a table may have more. */
const REQUIRED_COLUMNS: Readonly<Record<string, readonly string[]>> = {
  camera_updates: ['id', 'camera', 'x', 'y', 'zoom', 'target_x', 'target_y', 'target_zoom', 'ts'],
  tile_updates: ['id', 'x', 'y', 'brick', 'ts'],
};

/**
 * What keeps the tables of `db` from being wirecam's, as one short clause, or null when
 * nothing does: a table missing (unless `missingTablesAllowed`: the service creates them in
 * a new store), a column missing from one that exists, or ids that are not AUTOINCREMENT
 * (no sqlite_sequence; ids could then be reused: SQLite doc autoinc.html). Writes nothing.
 * Errors of SQLite (a file that is not a database) are thrown as they come.
 */
export function schemaProblem(db: Database.Database, missingTablesAllowed = false): string | null {
  const names = new Set(db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all() as string[]);
  let present = 0;
  for (const [table, columns] of Object.entries(REQUIRED_COLUMNS)) {
    if (!names.has(table)) {
      if (missingTablesAllowed) continue;
      return `it has no table ${table}`;
    }
    present++;
    const have = new Set((db.pragma(`table_info(${table})`) as Array<{ name: string }>).map((column) => column.name));
    const missing = columns.filter((column) => !have.has(column));
    if (missing.length > 0) return `table ${table} lacks column(s) ${missing.join(', ')}`;
  }
  // AUTOINCREMENT keeps ids (seqs) from being reused; SQLite keeps its counters there.
  if (present > 0 && !names.has('sqlite_sequence')) return 'its tables are not AUTOINCREMENT (no sqlite_sequence), so ids could be reused';
  return null;
}
