// Reads rows after a cursor, in id order, and sorts them into valid states and rejects.
// A reject never stops the stream: the cursor moves past it.
import type { CameraInput, TileInput } from '../protocol/messages.js';
import { checkCamera, checkTile, type RejectReason } from '../protocol/validate.js';
import type Database from 'better-sqlite3';
import type { Db } from './open.js';

/**
 * A position in the store, one row id per table: reading continues with the rows whose id
 * is above it. Row ids are the seqs on the wire (docs/protocol.md sections 4.2, 4.3); 0: before
 * the first row.
 */
export interface Cursor {
  /** A camera_updates id. */
  camera: number;
  /** A tile_updates id. */
  tile: number;
}

/**
 * Where the store stands: its newest row ids and its AUTOINCREMENT counters
 * (sqlite_sequence: the highest id each table ever handed out; 0 when it has none). The
 * counter never goes down by itself: when it is below a seq already sent, the store was
 * restored or rewritten (sequence-reset.ts).
 */
export interface StorePositions {
  /** MAX(id) of each table (0 when empty). */
  newest: Cursor;
  /** sqlite_sequence's counter of each table (SQLite doc: autoinc.html). */
  sequence: Cursor;
}

/**
 * A stored row that is not a valid state (validate.ts, the rules of docs/protocol.md section 4):
 * skipped, counted and logged by the main thread; the cursor moves past it.
 */
export interface Rejected {
  table: 'camera_updates' | 'tile_updates';
  /** The row's id (its seq). */
  id: number;
  /** The first rule it breaks. */
  reason: RejectReason;
}

/**
 * One read after a cursor: at most `limit` rows per table, each table in id (seq) order,
 * sorted into valid states and rejects.
 */
export interface RowBatch {
  /** Valid camera rows: seq = row id, value = the validated state. */
  cameras: Array<{ seq: number; value: CameraInput }>;
  /** Valid tile rows, likewise. */
  tiles: Array<{ seq: number; value: TileInput }>;
  /** Invalid rows of either table. */
  rejected: Rejected[];
  /** The highest id read per table, rejects included (the cursor given when none). */
  cursor: Cursor;
  /** True when a table had more rows than the limit: read again without waiting. */
  more: boolean;
}

interface CameraRow {
  id: number;
  camera: unknown;
  x: unknown;
  y: unknown;
  zoom: unknown;
  target_x: unknown;
  target_y: unknown;
  target_zoom: unknown;
  ts: unknown;
}

/** A `tile_updates` row as SQLite returns it: any column may hold any type until validated. */
export interface TileRow {
  id: number;
  x: unknown;
  y: unknown;
  brick: unknown;
  ts: unknown;
}

function checkCameraRow(row: CameraRow) {
  return checkCamera({ ...row, timestamp: row.ts }, null, 'truncate');
}

/**
 * Every read of the store tail and the snapshot, as statements prepared once on one
 * connection. Methods run synchronously in the calling thread (a store worker) and throw
 * what SQLite throws (SQLITE_BUSY past the busy timeout, I/O errors, a store whose tables
 * went away).
 */
export class StoreReader {
  /**
   * The reads after a cursor, prepared for one limit written into the SQL: a bound `LIMIT ?`
   * costs SQLite about twice the time per run of a literal limit. The tail reads with one
   * limit for as long as it runs, so one slot (the last limit used) is enough.
   */
  private rowsAfter: { limit: number; cameras: Database.Statement; tiles: Database.Statement } | null = null;
  private readonly latestIdPerCamera;
  private readonly anyRowOfCamera;
  private readonly cameraRowsBefore;
  private readonly maxIds;
  private readonly dataVersion;
  private readonly positionsQuery;

  constructor(private readonly db: Db) {
    // The most recently updated cameras first; LIMIT -1 is no limit (SQLite's LIMIT clause).
    this.latestIdPerCamera = db.prepare('SELECT camera, MAX(id) AS id FROM camera_updates GROUP BY camera ORDER BY id DESC LIMIT ?');
    // One probe of the (camera, id) index per camera.
    this.anyRowOfCamera = db.prepare('SELECT 1 FROM camera_updates WHERE camera = ? LIMIT 1').pluck();
    this.cameraRowsBefore = db.prepare(
      'SELECT id, camera, x, y, zoom, target_x, target_y, target_zoom, ts FROM camera_updates WHERE camera = ? AND id <= ? ORDER BY id DESC LIMIT 64',
    );
    this.maxIds = db.prepare(
      "SELECT (SELECT IFNULL(MAX(id), 0) FROM camera_updates) AS camera, (SELECT IFNULL(MAX(id), 0) FROM tile_updates) AS tile",
    );
    this.dataVersion = db.prepare('PRAGMA data_version').pluck();
    this.positionsQuery = db.prepare(`SELECT
      (SELECT IFNULL(MAX(id), 0) FROM camera_updates) AS newestCamera,
      (SELECT IFNULL(MAX(id), 0) FROM tile_updates) AS newestTile,
      (SELECT IFNULL(MAX(seq), 0) FROM sqlite_sequence WHERE name = 'camera_updates') AS sequenceCamera,
      (SELECT IFNULL(MAX(seq), 0) FROM sqlite_sequence WHERE name = 'tile_updates') AS sequenceTile`);
  }

  /** The store's newest ids and AUTOINCREMENT counters, read in one statement (one snapshot). */
  positions(): StorePositions {
    const row = this.positionsQuery.get() as { newestCamera: number; newestTile: number; sequenceCamera: number; sequenceTile: number };
    return {
      newest: { camera: row.newestCamera, tile: row.newestTile },
      sequence: { camera: Number(row.sequenceCamera), tile: Number(row.sequenceTile) },
    };
  }

  /** Changes whenever another connection commits: a cheap "is there anything new?". */
  currentDataVersion(): number {
    return this.dataVersion.get() as number;
  }

  /** The newest row id of each table (0 when empty): how far the store has got. */
  newestIds(): Cursor {
    return this.maxIds.get() as Cursor;
  }

  /**
   * The rows after `cursor`, at most `limit` (rows, > 0) per table, in one read transaction
   * (one snapshot of both tables). `more` says whether to read again at once. `newest`: the
   * store's newest ids as just read (positions()); a table whose newest id is not past the
   * cursor is not queried, and a single query needs no explicit transaction (a statement is
   * its own snapshot). Omitted, both tables are queried.
   */
  read(cursor: Cursor, limit: number, newest: Cursor | null = null): RowBatch {
    const cameras = newest === null || newest.camera > cursor.camera;
    const tiles = newest === null || newest.tile > cursor.tile;
    if (cameras && tiles) return this.db.transaction(() => this.readUnlocked(cursor, limit, true, true))();
    return this.readUnlocked(cursor, limit, cameras, tiles);
  }

  /**
   * The latest valid state of each camera, in seq order, and the cursor from which live
   * reading starts. `maxCameras`: only the cameras with the newest rows, at most this many
   * (the service keeps no more: --max-cameras); none by default.
   */
  snapshot(maxCameras = -1): { cameras: Array<{ seq: number; value: CameraInput }>; cursor: Cursor } {
    return this.db.transaction(() => {
      const cursor = this.maxIds.get() as Cursor;
      const cameras: Array<{ seq: number; value: CameraInput }> = [];
      for (const { camera, id } of this.latestIdPerCamera.all(maxCameras) as Array<{ camera: unknown; id: number }>) {
        const latest = this.latestValidAtOrBefore(camera, id);
        if (latest) cameras.push(latest);
      }
      cameras.sort((a, b) => a.seq - b.seq);
      return { cameras, cursor };
    })();
  }

  /**
   * Those of `cameras` that have no row in camera_updates any more (deleted by retention or
   * by another process): one index lookup each, in one read transaction.
   */
  camerasWithoutRows(cameras: readonly string[]): string[] {
    return this.db.transaction(() => cameras.filter((camera) => this.anyRowOfCamera.get(camera) === undefined))();
  }

  /** A camera whose newest rows are all invalid falls back to its newest valid one. */
  private latestValidAtOrBefore(camera: unknown, id: number): { seq: number; value: CameraInput } | undefined {
    if (typeof camera !== 'string') return undefined;
    for (const row of this.cameraRowsBefore.all(camera, id) as CameraRow[]) {
      const checked = checkCameraRow(row);
      if (checked.ok) return { seq: row.id, value: checked.value };
    }
    return undefined;
  }

  /** The statements reading after a cursor with `limit` (see rowsAfter). @throws RangeError unless `limit` is a positive safe integer. */
  private rowsAfterStatements(limit: number) {
    if (this.rowsAfter?.limit === limit) return this.rowsAfter;
    if (!Number.isSafeInteger(limit) || limit <= 0) throw new RangeError(`the read limit must be a positive integer, not ${limit}`);
    this.rowsAfter = {
      limit,
      cameras: this.db.prepare(
        `SELECT id, camera, x, y, zoom, target_x, target_y, target_zoom, ts FROM camera_updates WHERE id > ? ORDER BY id LIMIT ${limit}`,
      ),
      tiles: this.db.prepare(`SELECT id, x, y, brick, ts FROM tile_updates WHERE id > ? ORDER BY id LIMIT ${limit}`),
    };
    return this.rowsAfter;
  }

  private readUnlocked(cursor: Cursor, limit: number, cameras: boolean, tiles: boolean): RowBatch {
    const batch: RowBatch = { cameras: [], tiles: [], rejected: [], cursor: { ...cursor }, more: false };
    const statements = this.rowsAfterStatements(limit);
    const cameraRows = cameras ? (statements.cameras.all(cursor.camera) as CameraRow[]) : [];
    for (const row of cameraRows) {
      const checked = checkCameraRow(row);
      if (checked.ok) batch.cameras.push({ seq: row.id, value: checked.value });
      else batch.rejected.push({ table: 'camera_updates', id: row.id, reason: checked.reason });
      batch.cursor.camera = row.id;
    }
    const tileRows = tiles ? (statements.tiles.all(cursor.tile) as TileRow[]) : [];
    for (const row of tileRows) {
      const checked = checkTile({ ...row, timestamp: row.ts }, null, 'truncate');
      if (checked.ok) batch.tiles.push({ seq: row.id, value: checked.value });
      else batch.rejected.push({ table: 'tile_updates', id: row.id, reason: checked.reason });
      batch.cursor.tile = row.id;
    }
    batch.more = cameraRows.length === limit || tileRows.length === limit;
    return batch;
  }
}
