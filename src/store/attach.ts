// How the workers open the store: only a file that is already there and is a complete
// SQLite database holding wirecam's tables. The service creates the store once, at start
// (open.ts); a file that appears at the path later (a backup being copied into place, a
// store made by another tool) is checked first, without writing to it, through a read-only
// connection: its length against its pages, then its tables. Nothing here runs CREATE or changes journal_mode.
import Database from 'better-sqlite3';
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { describeError } from '../util/describe-error.js';
import { StoreMissingError } from './identity.js';
import { schemaProblem } from './schema-check.js';
import type { Db } from './open.js';

/**
 * The file at the store's path is not (yet) a usable wirecam store: still being copied,
 * not SQLite, or without wirecam's tables. A running service waits for it and says why on
 * /healthz; it never writes to such a file. The message says what is wrong and nothing of
 * waiting: the same error ends a start (open.ts finds it first, as a StoreOpenError).
 */
export class StoreNotUsableError extends Error {
  /** `path`: the store's path as given; `reason`: why it is not usable, one short clause. */
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(`database file ${path} is not a complete wirecam store (${reason}); nothing is written to it`);
    this.name = 'StoreNotUsableError';
  }
}

/** How attachStore() sets up its connection; every field optional. */
export interface AttachOptions {
  /**
   * PRAGMA synchronous (SQLite doc: pragma.html#pragma_synchronous); default NORMAL. FULL for
   * writes that are acknowledged to producers (durable across power loss too).
   */
  synchronous?: 'NORMAL' | 'FULL';
  /** How long a statement waits for another process's lock before SQLITE_BUSY, in ms; default 5000. */
  busyTimeoutMs?: number;
  /**
   * PRAGMA journal_size_limit, in bytes: when this connection resets the WAL (or a rollback
   * journal), the file is truncated to at most this size (SQLite doc: pragma.html#pragma_journal_size_limit).
   */
  journalSizeLimitBytes?: number;
}

/** SQLite's file header (fileformat2.html, section 1.3) is the first 100 bytes. */
const HEADER_BYTES = 100;

/**
 * Opens the existing store at `path` for a worker, after checking it (`checkStoreFile`).
 * Throws StoreMissingError when no file is there, StoreNotUsableError when the file is not
 * a complete wirecam store; other errors (a lock, I/O) as SQLite reports them.
 */
export function attachStore(path: string, options: AttachOptions = {}): Db {
  const absolute = resolve(path);
  checkStoreFile(path, absolute);
  const db = new Database(absolute, { fileMustExist: true });
  try {
    db.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 5000}`);
    db.pragma(`synchronous = ${options.synchronous ?? 'NORMAL'}`);
    if (options.journalSizeLimitBytes !== undefined) db.pragma(`journal_size_limit = ${Math.trunc(options.journalSizeLimitBytes)}`);
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}

/**
 * Checks that the file at `path` is a complete wirecam store: throws StoreMissingError when
 * there is none, StoreNotUsableError when it is shorter than its header says (still being
 * copied), not SQLite, or without wirecam's tables.
 *
 * The file is never opened here except through SQLite (a read-only connection): SQLite's
 * locks are POSIX advisory locks, which belong to the process, and closing *any* descriptor
 * of the file releases every lock the process holds on it (SQLite doc: howtocorrupt.html,
 * section 2.2). A plain open/read/close of the database file from this process would drop
 * the locks of the service's other connections: another process closing its connection
 * would then believe it was the last one and reset the WAL under them, and they would stop
 * seeing new commits. Only stat() (no descriptor) is used besides SQLite.
 */
export function checkStoreFile(path: string, absolute = resolve(path)): void {
  let size: number;
  try {
    const stat = statSync(absolute);
    if (!stat.isFile()) throw new StoreNotUsableError(path, 'it is not a regular file');
    size = stat.size;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new StoreMissingError(path);
    throw error;
  }
  if (size < HEADER_BYTES) throw new StoreNotUsableError(path, `the file has ${size} bytes, less than an SQLite header`);
  const problem = contentProblem(absolute, size);
  if (problem !== null) throw new StoreNotUsableError(path, problem);
}

/**
 * Pages, then tables, read through a read-only connection that is closed again. Where the
 * store has a WAL (`-wal` file), committed pages may live there rather than in the file, so
 * the file's length says nothing and only the tables are checked; a file copied into place
 * comes without one (README: remove the `-wal` and `-shm` files first).
 */
function contentProblem(absolute: string, size: number): string | null {
  const hasWal = statSync(`${absolute}-wal`, { throwIfNoEntry: false }) !== undefined;
  let check: Db | undefined;
  try {
    check = new Database(absolute, { readonly: true, fileMustExist: true });
    check.pragma('busy_timeout = 1000');
    if (!hasWal) {
      const pageSize = check.pragma('page_size', { simple: true }) as number;
      // Without a WAL, SQLite takes the in-header page count when it is valid
      // (fileformat2.html, 1.3.7): a file shorter than that is still being written.
      const pages = check.pragma('page_count', { simple: true }) as number;
      if (size % pageSize !== 0) return `the file has ${size} bytes, not a whole number of ${pageSize}-byte pages (still being copied?)`;
      if (size < pages * pageSize) return `the file has ${size} of its ${pages * pageSize} bytes (still being copied?)`;
    }
    return schemaProblem(check);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === 'SQLITE_NOTADB') return 'the file is not an SQLite database';
    // Pages that do not hold what the header promises: a copy still being written, or damage.
    if (code === 'SQLITE_CORRUPT') return `its ${size} bytes do not hold a whole database (still being copied, or damaged)`;
    return `cannot read it: ${describeError(error)}`;
  } finally {
    check?.close();
  }
}
