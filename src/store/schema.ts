// The store's schema (docs/architecture.md, README "Recording camera states"). AUTOINCREMENT makes the row id a seq that is never reused,
// even after retention deletes the newest rows' predecessors.
/**
 * The statements that create the store's tables and indexes when missing (CREATE ... IF NOT
 * EXISTS, so running them on an existing store changes nothing). Row ids are seqs; `ts` is
 * ms since the Unix epoch; x, y, zoom as docs/protocol.md section 4.2 and 4.3 define them.
 */
export const SCHEMA_SQL = `
CREATE TABLE IF NOT EXISTS camera_updates (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  camera      TEXT    NOT NULL DEFAULT 'main',
  x REAL NOT NULL, y REAL NOT NULL, zoom REAL NOT NULL,
  target_x REAL, target_y REAL, target_zoom REAL,
  ts          INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS tile_updates (
  id INTEGER PRIMARY KEY AUTOINCREMENT, x INTEGER NOT NULL, y INTEGER NOT NULL,
  brick TEXT NOT NULL, ts INTEGER NOT NULL
);
-- Finds each camera's latest row (snapshot, retention) without scanning the table.
CREATE INDEX IF NOT EXISTS camera_updates_by_camera ON camera_updates (camera, id);
-- Finds each tile coordinate's latest row (the map, docs/protocol.md section 9) by index seeks.
CREATE INDEX IF NOT EXISTS tile_updates_by_coordinate ON tile_updates (x, y, id);
-- The store's own facts (src/store/meta.ts): its epoch, how far retention has pruned tiles.
CREATE TABLE IF NOT EXISTS wirecam_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
`;

/** Default of --db: the store's path, resolved against the working directory at start (open.ts resolveStorePath). */
export const DEFAULT_DB_PATH = './data/wiercam_update.db';
