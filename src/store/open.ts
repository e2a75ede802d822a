// Opening the store: folder and schema created when missing, WAL, a busy timeout so that a
// writer in another process makes us wait rather than fail. The main thread opens it first
// (without mustExist) and so checks the path: every unusable path fails there, at once,
// with one reason.
import Database from 'better-sqlite3';
import { chmodSync, closeSync, mkdirSync, openSync, rmSync, statSync, type Stats } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { currentEpoch } from './meta.js';
import { SCHEMA_SQL } from './schema.js';
import { schemaProblem } from './schema-check.js';
import { describeError } from '../util/describe-error.js';

/** A connection to the store (better-sqlite3; synchronous, one per thread). */
export type Db = Database.Database;

/**
 * The store cannot be opened or created at `path`: the message names the path and the
 * reason (see openStore). The service stops at start with it, before listening.
 */
export class StoreOpenError extends Error {
  /** `path`: the store's path as given; `reason`: the system's or SQLite's reason, one clause. */
  constructor(
    readonly path: string,
    reason: string,
  ) {
    super(`cannot open database ${path}: ${reason}`);
    this.name = 'StoreOpenError';
  }
}

/** How openStore() opens the store; every field optional. */
export interface OpenOptions {
  /**
   * PRAGMA synchronous (SQLite doc: pragma.html#pragma_synchronous); default NORMAL. FULL for
   * writes that are acknowledged to producers (durable across power loss too).
   */
  synchronous?: 'NORMAL' | 'FULL';
  /** How long a statement waits for another connection's lock before SQLITE_BUSY, in ms; default 5000. */
  busyTimeoutMs?: number;
  /**
   * Open only a file that exists (workers: the service created the store at start; if it
   * disappears later, they wait for it rather than start an empty one).
   */
  mustExist?: boolean;
}

/**
 * The one form of a store path that every thread uses: absolute, with `.` and `..` taken
 * lexically against the working directory (Node's path.resolve), so `/tmp/missing/../x/y.db`
 * is `/tmp/x/y.db` whether or not `/tmp/missing` exists. The kernel would take `..` after the
 * folder it names, and fail when that folder is missing; a path given to threads unresolved
 * could therefore name another file, or none, than the one the main thread checked.
 */
export function resolveStorePath(path: string): string {
  return resolve(path);
}

/**
 * Opens (and, unless `mustExist`, creates with its folders) the store at `path`, resolved by
 * resolveStorePath(), in WAL mode (SQLite doc: wal.html) with the tables of schema.ts created
 * when missing. Without `mustExist` it also checks that the store is usable for
 * writing, so that a bad path fails here, at once, rather than in a worker later.
 * Throws StoreOpenError naming the path and the reason: a folder on the way that is a file
 * or cannot be created, a path that is a folder or a device, a file that is not SQLite, an
 * SQLite file whose tables are not wirecam's (schema-check.ts; refused before anything is
 * written to it), a store that cannot be written (read-only file, folder or file system).
 */
export function openStore(path: string, options: OpenOptions = {}): Db {
  const absolute = resolveStorePath(path);
  const created = options.mustExist ? false : prepareFile(path, absolute);
  let db: Db | undefined;
  try {
    db = new Database(absolute, { fileMustExist: options.mustExist === true });
    db.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 5000}`);
    // Tables of another shape (another program's file): refused before anything is written.
    const problem = schemaProblem(db, true);
    if (problem !== null) throw new StoreOpenError(path, `${problem}: not a wirecam store; left unchanged`);
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${options.synchronous ?? 'NORMAL'}`);
    db.exec(SCHEMA_SQL);
    if (!options.mustExist) {
      checkWritable(db);
      // The epoch is made with the store (docs/protocol.md section 9.1), before any worker or
      // fanout process reads it.
      currentEpoch(db);
    }
    return db;
  } catch (error) {
    db?.close();
    // Leave nothing behind of a store that never opened: the empty file was ours.
    if (created) rmSync(absolute, { force: true });
    if (error instanceof StoreOpenError) throw error;
    throw new StoreOpenError(path, describeError(error));
  }
}

/**
 * Creates the missing folders (0755) and, when the file is missing, an empty file (0644, an
 * empty SQLite database), so that each failure has the system's exact reason. Returns
 * whether it created the file.
 */
function prepareFile(path: string, absolute: string): boolean {
  createFolders(path, dirname(absolute));
  let stats: Stats;
  try {
    stats = statSync(absolute);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw new StoreOpenError(path, describeError(error));
    try {
      closeSync(openSync(absolute, 'wx', 0o644));
      return true;
    } catch (createError) {
      if ((createError as NodeJS.ErrnoException).code === 'EEXIST') return false; // created meanwhile: check it as SQLite
      throw new StoreOpenError(path, `cannot create the file (${describeError(createError)})`);
    }
  }
  if (stats.isDirectory()) throw new StoreOpenError(path, 'it is a folder, not a database file');
  if (!stats.isFile()) throw new StoreOpenError(path, 'it is not a regular file (a device, pipe or socket)');
  return false;
}

/**
 * Creates `folder` and its missing parents, one at a time: the nearest existing one must be a
 * folder. Not mkdir's `recursive`, which on some file systems never returns (/proc: mkdir
 * answers ENOENT for a folder whose parent exists, and Node's recursion retries forever).
 */
function createFolders(path: string, folder: string): void {
  const missing: string[] = [];
  let dir = folder;
  for (;;) {
    let stats: Stats;
    try {
      stats = statSync(dir);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if ((code === 'ENOENT' || code === 'ENOTDIR') && dir !== dirname(dir)) {
        missing.push(dir);
        dir = dirname(dir);
        continue;
      }
      throw new StoreOpenError(path, `cannot reach its folder ${dir} (${describeError(error)})`);
    }
    if (!stats.isDirectory()) throw new StoreOpenError(path, `${dir} is not a folder`);
    break;
  }
  for (const dir of missing.reverse()) {
    try {
      mkdirSync(dir, { mode: 0o755 });
      // The umask may have narrowed the mode; the folders we create are ours to set.
      chmodSync(dir, 0o755);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST' && statSync(dir, { throwIfNoEntry: false })?.isDirectory()) continue;
      throw new StoreOpenError(path, `cannot create its folder ${dir} (${describeError(error)})`);
    }
  }
}

/**
 * Writes once and rolls back (a table created in a transaction that is never committed):
 * SQLITE_READONLY (a read-only file, or an opening that fell back to read-only, which taking
 * the write lock alone does not reveal) fails here. A lock held by another process
 * (SQLITE_BUSY) is not a fault of the path: the store is writable, only busy now.
 */
function checkWritable(db: Db): void {
  const timeout = db.pragma('busy_timeout', { simple: true }) as number;
  db.pragma('busy_timeout = 0');
  try {
    db.exec('BEGIN IMMEDIATE');
    db.exec('CREATE TABLE wirecam_write_check (x)');
  } catch (error) {
    if ((error as { code?: unknown }).code !== 'SQLITE_BUSY') throw error;
  } finally {
    if (db.inTransaction) db.exec('ROLLBACK');
    db.pragma(`busy_timeout = ${timeout}`);
  }
}
