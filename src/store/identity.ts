// Which file a path names right now (device and inode). An open SQLite connection keeps the
// file it opened even after that file is deleted or replaced by another; comparing
// identities is how the service notices, instead of reading or writing a file nobody sees.
import { statSync } from 'node:fs';

/**
 * The identity of the file or folder at `path` now, as `dev:inode` (stat, following
 * symlinks; no descriptor is opened), or null when nothing is there (ENOENT). Other stat
 * errors (EACCES, ENOTDIR, ...) are thrown.
 */
export function fileIdentity(path: string): string | null {
  try {
    const stat = statSync(path);
    return `${stat.dev}:${stat.ino}`;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

/**
 * No file at the store's path (deleted or moved away): the workers wait for one rather than
 * create an empty store; the service says so on /healthz and reads on once a usable file is
 * back (a new file, so a reset: sequence-reset.ts).
 */
export class StoreMissingError extends Error {
  /** `path`: the store's path, named in the message. */
  constructor(path: string) {
    super(`database file ${path} is missing (deleted or moved away); waiting for a valid one`);
    this.name = 'StoreMissingError';
  }
}
