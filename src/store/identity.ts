// Which file a path names right now (device, inode and birth time). An open SQLite connection
// keeps the file it opened even after that file is deleted or replaced by another; comparing
// identities is how the service notices, instead of reading or writing a file nobody sees.
// The inode number alone does not tell: ext4 gives a file created after a deletion the freed
// number at once, so a connection kept open on a deleted store looked like one to the new
// file at the path (test/unit/identity.test.ts).
import { statSync } from 'node:fs';

/**
 * The identity of the file or folder at `path` now, as `dev:inode:birth` with the birth time
 * in nanoseconds (stat via statx, following symlinks; no descriptor is opened; a file system
 * that keeps no birth time gives 0 there, and then only dev:inode tells files apart), or null
 * when nothing is there (ENOENT). Other stat errors (EACCES, ENOTDIR, ...) are thrown.
 */
export function fileIdentity(path: string): string | null {
  try {
    const stat = statSync(path, { bigint: true });
    return `${stat.dev}:${stat.ino}:${stat.birthtimeNs}`;
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
