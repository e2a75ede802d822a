// Opening the store: folder and schema created when missing, WAL, a busy timeout so that a
// writer in another process makes us wait rather than fail.
import Database from 'better-sqlite3';
import { chmodSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { SCHEMA_SQL } from './schema.js';

export type Db = Database.Database;

export class StoreOpenError extends Error {
  constructor(
    readonly path: string,
    reason: string,
  ) {
    super(`cannot open database ${path}: ${reason}`);
    this.name = 'StoreOpenError';
  }
}

export interface OpenOptions {
  /** FULL for writes that are acknowledged to producers (durable across power loss too). */
  synchronous?: 'NORMAL' | 'FULL';
  busyTimeoutMs?: number;
  /**
   * Open only a file that exists (workers: the service created the store at start; if it
   * disappears later, they wait for it rather than start an empty one).
   */
  mustExist?: boolean;
}

export function openStore(path: string, options: OpenOptions = {}): Db {
  const absolute = resolve(path);
  if (!options.mustExist) createFolder(path, absolute);
  let db: Db | undefined;
  try {
    db = new Database(absolute, { fileMustExist: options.mustExist === true });
    db.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 5000}`);
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${options.synchronous ?? 'NORMAL'}`);
    db.exec(SCHEMA_SQL);
    return db;
  } catch (error) {
    db?.close();
    throw new StoreOpenError(path, reasonOf(error));
  }
}

function createFolder(path: string, absolute: string): void {
  try {
    const folder = dirname(absolute);
    const created = mkdirSync(folder, { recursive: true, mode: 0o755 });
    // The umask may have narrowed the mode; the folders we created (`created` is the topmost
    // of them) are ours to set, all of them, or the leaf's 0755 would be unreachable.
    if (created !== undefined) {
      for (let dir = folder; ; dir = dirname(dir)) {
        chmodSync(dir, 0o755);
        if (dir === created || dir === dirname(dir)) break;
      }
    }
  } catch (error) {
    throw new StoreOpenError(path, `cannot create its folder (${reasonOf(error)})`);
  }
}

function reasonOf(error: unknown): string {
  if (error instanceof Error) return error.message.replace(/\s+/g, ' ');
  return String(error);
}
