// The watch on the store's folder that wakes the store tail when the store's files are
// written. An inotify watch follows the folder it was made on (its inode): when the folder
// is renamed away and another one renamed into its place (`mv data data.old && mv staging
// data`), the watch keeps reporting the old folder and never errs. So the watch remembers
// the folder's identity (identity.ts), and `ensure()`, called from the tail's safety check,
// re-creates it on whatever folder now sits at the path.
import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { fileIdentity } from './identity.js';

/** What `ensure()` changed: the watch started, moved to a new folder, or was lost. */
export type WatchChange = { watching: true; rewatched: boolean } | { watching: false };

/** An fs.watch on the store's folder that follows the folder now at the path (see above). */
export class FolderWatch {
  private watcher: FSWatcher | null = null;
  /** The identity (identity.ts) of the folder watched last (kept while the watch is off). */
  private folder: string | null = null;
  private readonly path: string;
  private readonly names: ReadonlySet<string>;

  /**
   * `storePath`: the database file; `onWrite` is called when it, its -wal or -journal changes,
   * with `renamed` true when the event was a rename (a file created, deleted or moved in or out
   * of the folder: the file at the path may be another one since) and false for a write.
   */
  constructor(
    storePath: string,
    private readonly onWrite: (renamed: boolean) => void,
  ) {
    const absolute = resolve(storePath);
    this.path = dirname(absolute);
    const name = basename(absolute);
    this.names = new Set([name, `${name}-wal`, `${name}-journal`]);
  }

  /** True while a watch is active (commits wake the tail); false: the tail polls. */
  get watching(): boolean {
    return this.watcher !== null;
  }

  /**
   * Watches the folder now at the path, if it is not the one watched (or none is): returns
   * what changed, or null when nothing did. A folder that is missing or cannot be watched
   * leaves the watch off (the caller polls) until a later call succeeds.
   */
  ensure(): WatchChange | null {
    let identity: string | null;
    try {
      identity = fileIdentity(this.path);
    } catch {
      identity = null;
    }
    if (identity !== null && identity === this.folder && this.watcher !== null) return null;
    const had = this.watcher !== null;
    const previous = this.folder;
    this.close();
    if (identity === null) return had ? { watching: false } : null;
    try {
      const watcher = watch(this.path, { persistent: true }, (event, name) => {
        if (name === null || this.names.has(name)) this.onWrite(event === 'rename' || name === null);
      });
      watcher.on('error', () => {
        // The folder went away or the kernel dropped the watch: the next ensure() retries.
        if (this.watcher === watcher) this.close();
      });
      this.watcher = watcher;
      this.folder = identity;
    } catch {
      return had ? { watching: false } : null;
    }
    return { watching: true, rewatched: previous !== null && previous !== identity };
  }

  /** Stops watching (ensure() may start again). */
  close(): void {
    this.watcher?.close();
    this.watcher = null;
  }
}
