// Which file a path names right now (device and inode). An open SQLite connection keeps the
// file it opened even after that file is deleted or replaced by another; comparing
// identities is how the service notices, instead of reading or writing a file nobody sees.
import { statSync } from 'node:fs';

export function fileIdentity(path: string): string | null {
  try {
    const stat = statSync(path);
    return `${stat.dev}:${stat.ino}`;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

export class StoreMissingError extends Error {
  constructor(path: string) {
    super(`database file ${path} is missing (deleted or moved away); waiting for a valid one`);
    this.name = 'StoreMissingError';
  }
}
