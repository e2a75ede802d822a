// Facts the store keeps about itself, in its own table (wirecam_meta), so that they survive
// restarts and travel with the file (docs/protocol.md section 9):
// - the epoch: names the store's sequence space. Created with the store; replaced whenever
//   that space is reset (another file now sits at the path, or its sequences went back).
//   Within one epoch a tile seq is never reused, so a client's (epoch, seq) says exactly
//   which tiles it has.
// - tiles pruned through: the highest tile seq retention has deleted. A client that resumes
//   from below it may have missed tiles that are gone.
import { randomBytes } from 'node:crypto';
import type Database from 'better-sqlite3';

/** A connection to the store (better-sqlite3); the same type as open.ts's Db, named here so that meta.ts does not import open.ts, which imports it. */
type Db = Database.Database;

const EPOCH = 'epoch';
const TILES_PRUNED_THROUGH = 'tiles_pruned_through';

/**
 * The table is part of the schema (schema.ts), but a file restored from an older backup or
 * renamed into place may predate it: reads then find nothing and the first write creates it.
 */
function hasTable(db: Db): boolean {
  return db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'wirecam_meta'").get() !== undefined;
}

function read(db: Db, key: string): string | undefined {
  if (!hasTable(db)) return undefined;
  const row = db.prepare('SELECT value FROM wirecam_meta WHERE key = ?').get(key) as { value: string } | undefined;
  return row?.value;
}

function write(db: Db, key: string, value: string): void {
  if (!hasTable(db)) db.exec('CREATE TABLE IF NOT EXISTS wirecam_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)');
  db.prepare('INSERT INTO wirecam_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value').run(key, value);
}

/** A fresh epoch: 16 random hex digits (64 bits), matching ^[A-Za-z0-9_.:-]{1,64}$ as a query value. */
export function randomEpoch(): string {
  return randomBytes(8).toString('hex');
}

/**
 * The store's epoch (docs/protocol.md section 9.1); created (and kept in the store) on first use.
 * Throws what SQLite throws (a busy store, or a read-only one when the epoch must be created).
 */
export function currentEpoch(db: Db): string {
  // Read first; create only when missing, in an IMMEDIATE transaction: a deferred one that
  // reads and then writes fails at once with SQLITE_BUSY (no busy wait) when another
  // connection wrote in between — two fanout processes starting together did that.
  return read(db, EPOCH) ?? db.transaction(() => read(db, EPOCH) ?? newEpoch(db)).immediate();
}

/**
 * The one place where "the sequence space was reset" becomes a new epoch: a replaced file
 * (workers/store-stream.ts) and a rollback of the sequences inside the same file both call
 * this. Clients that resume with the old epoch then get `recovered: false` and rebuild.
 * Returns the new epoch. Throws what SQLite throws (a read-only or busy store).
 */
export function newEpoch(db: Db): string {
  const epoch = randomEpoch();
  write(db, EPOCH, epoch);
  return epoch;
}

/** The highest tile seq retention has deleted (0: none). */
export function tilesPrunedThrough(db: Db): number {
  return Number(read(db, TILES_PRUNED_THROUGH) ?? 0);
}

/** Raises the pruned-through mark to `seq` (never lowers it); call inside the deleting transaction. */
export function recordTilesPruned(db: Db, seq: number): void {
  if (seq > tilesPrunedThrough(db)) write(db, TILES_PRUNED_THROUGH, String(Math.trunc(seq)));
}
