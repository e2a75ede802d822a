// How the workers open the store: only a file that is already there and is a complete
// SQLite database holding wirecam's tables. The service creates the store once, at start
// (open.ts); a file that appears at the path later (a backup being copied into place, a
// store made by another tool) is checked first, without writing to it: its header, then its
// tables through a read-only connection. Nothing here runs CREATE or changes journal_mode.
import Database from 'better-sqlite3';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { resolve } from 'node:path';
import { describeError } from '../util/describe-error.js';
import { StoreMissingError } from './identity.js';
import type { Db } from './open.js';

/**
 * The file at the store's path is not (yet) a usable wirecam store: still being copied,
 * not SQLite, or without wirecam's tables. The service waits for it and says why on
 * /healthz; it never writes to such a file.
 */
export class StoreNotUsableError extends Error {
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(`database file ${path} is not a complete wirecam store yet (${reason}); waiting, without writing to it`);
    this.name = 'StoreNotUsableError';
  }
}

export interface AttachOptions {
  /** FULL for writes that are acknowledged to producers (durable across power loss too). */
  synchronous?: 'NORMAL' | 'FULL';
  /** How long a statement waits for another process's lock before SQLITE_BUSY, in ms. */
  busyTimeoutMs?: number;
  /**
   * PRAGMA journal_size_limit, in bytes: when this connection resets the WAL (or a rollback
   * journal), the file is truncated to at most this size (SQLite doc: pragma.html#pragma_journal_size_limit).
   */
  journalSizeLimitBytes?: number;
}

/** The columns wirecam reads and writes (schema.ts); a table may have more. */
const REQUIRED_COLUMNS: Readonly<Record<string, readonly string[]>> = {
  camera_updates: ['id', 'camera', 'x', 'y', 'zoom', 'target_x', 'target_y', 'target_zoom', 'ts'],
  tile_updates: ['id', 'x', 'y', 'brick', 'ts'],
};

/** SQLite's file header (fileformat2.html, section 1.3): its first 100 bytes. */
const HEADER_BYTES = 100;
const MAGIC = 'SQLite format 3\0';

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

/** The header, then the tables: throws StoreMissingError or StoreNotUsableError. */
export function checkStoreFile(path: string, absolute = resolve(path)): void {
  const problem = headerProblem(path, absolute);
  if (problem !== null) throw new StoreNotUsableError(path, problem);
  const tables = tablesProblem(absolute);
  if (tables !== null) throw new StoreNotUsableError(path, tables);
}

function headerProblem(path: string, absolute: string): string | null {
  let fd: number;
  try {
    fd = openSync(absolute, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new StoreMissingError(path);
    throw error;
  }
  try {
    const size = fstatSync(fd).size;
    if (size < HEADER_BYTES) return `the file has ${size} bytes, less than an SQLite header`;
    const header = Buffer.alloc(HEADER_BYTES);
    readSync(fd, header, 0, HEADER_BYTES, 0);
    if (header.toString('latin1', 0, MAGIC.length) !== MAGIC) return 'the file is not an SQLite database';
    const rawPageSize = header.readUInt16BE(16);
    const pageSize = rawPageSize === 1 ? 65536 : rawPageSize;
    if (pageSize < 512 || (pageSize & (pageSize - 1)) !== 0) return `the header's page size ${rawPageSize} is invalid`;
    if (size % pageSize !== 0) return `the file has ${size} bytes, not a whole number of ${pageSize}-byte pages (still being copied?)`;
    // The in-header page count is valid when the change counter matches version-valid-for.
    const pages = header.readUInt32BE(28);
    if (pages > 0 && header.readUInt32BE(24) === header.readUInt32BE(92) && size < pages * pageSize) {
      return `the file has ${size} of its ${pages * pageSize} bytes (still being copied?)`;
    }
    return null;
  } finally {
    closeSync(fd);
  }
}

function tablesProblem(absolute: string): string | null {
  let check: Db | undefined;
  try {
    check = new Database(absolute, { readonly: true, fileMustExist: true });
    check.pragma('busy_timeout = 1000');
    const names = new Set((check.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all() as string[]));
    for (const [table, columns] of Object.entries(REQUIRED_COLUMNS)) {
      if (!names.has(table)) return `it has no table ${table}`;
      const present = new Set((check.pragma(`table_info(${table})`) as Array<{ name: string }>).map((column) => column.name));
      const missing = columns.filter((column) => !present.has(column));
      if (missing.length > 0) return `table ${table} lacks column(s) ${missing.join(', ')}`;
    }
    // AUTOINCREMENT keeps ids (seqs) from being reused; SQLite keeps its counters there.
    if (!names.has('sqlite_sequence')) return 'its tables are not AUTOINCREMENT (no sqlite_sequence), so ids could be reused';
    return null;
  } catch (error) {
    return `cannot read its tables: ${describeError(error)}`;
  } finally {
    check?.close();
  }
}
