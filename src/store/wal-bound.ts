// Keeps the store's write-ahead log bounded. SQLite's automatic checkpoint (PASSIVE, every
// 1000 pages) cannot reset the WAL while any reader holds a snapshot older than its end, so
// under a steady write rate the -wal file grows for as long as an outside reader (a backup,
// a report, a forgotten sqlite3 shell) holds a read transaction, and it keeps that size
// afterwards: SQLite reuses the file rather than shrinking it, unless the connection that
// resets it has journal_size_limit set (an outside writer's connection does not).
// WalBound, called from the store tail, looks at the -wal file's size every so often; past
// the bound it runs a PASSIVE checkpoint (copies what it can, blocks nobody) and then a
// TRUNCATE checkpoint with a short busy timeout (SQLite doc: pragma.html#pragma_wal_checkpoint),
// which empties the file once no reader needs it. While a reader pins the WAL, TRUNCATE
// reports busy and is tried again after a growing delay (1 s, doubling to 8 s), so a pinned
// WAL costs writers at most one short wait per attempt.
import { statSync } from 'node:fs';
import type { Db } from './open.js';
import { Backoff } from '../util/backoff.js';

/** Default of --wal-max-bytes: 64 MiB. */
export const DEFAULT_WAL_MAX_BYTES = 64 * 1024 * 1024;
/** How often the -wal file's size is looked at, in ms. */
export const WAL_CHECK_INTERVAL_MS = 250;
/** How long the TRUNCATE checkpoint waits for a writer or a reader to finish, in ms. */
const CHECKPOINT_BUSY_TIMEOUT_MS = 20;

/**
 * What a look at the WAL did: nothing to do, emptied it, or found it pinned by a reader;
 * `bytes`: the -wal file's size before the checkpoint.
 */
export type WalOutcome =
  | { state: 'within' }
  | { state: 'truncated'; bytes: number }
  | { state: 'pinned'; bytes: number };

/** Checks the -wal file's size now and then and empties the WAL past the bound (see above). */
export class WalBound {
  private nextLookAt = 0;
  /** Delays before looking again at a pinned WAL: 1 s, doubling to 8 s. */
  private readonly retry = new Backoff({ initialDelayMs: 1000, maxDelayMs: 8000, jitter: 0 });

  /**
   * `walPath`: the store's `-wal` file; `maxBytes`: the bound (--wal-max-bytes); `busyTimeoutMs`:
   * the connection's usual busy timeout, restored after the checkpoint.
   */
  constructor(
    private readonly walPath: string,
    private readonly maxBytes: number,
    private readonly busyTimeoutMs: number,
  ) {}

  /** Current size of the -wal file in bytes (0 when there is none). */
  static sizeOf(walPath: string): number {
    try {
      return statSync(walPath).size;
    } catch {
      return 0;
    }
  }

  /**
   * Looks at the WAL if due (`now` in ms) and checkpoints it past the bound, on `db`, a
   * connection with no transaction open. Returns null when it was not due. SQLite errors
   * other than busy (I/O) are thrown.
   */
  check(db: Db, now: number): WalOutcome | null {
    if (now < this.nextLookAt) return null;
    this.nextLookAt = now + WAL_CHECK_INTERVAL_MS;
    const bytes = WalBound.sizeOf(this.walPath);
    if (bytes <= this.maxBytes) {
      this.retry.reset();
      return { state: 'within' };
    }
    db.pragma('wal_checkpoint(PASSIVE)');
    db.pragma(`busy_timeout = ${CHECKPOINT_BUSY_TIMEOUT_MS}`);
    let busy: number;
    try {
      busy = (db.pragma('wal_checkpoint(TRUNCATE)') as Array<{ busy: number }>)[0]?.busy ?? 1;
    } finally {
      db.pragma(`busy_timeout = ${this.busyTimeoutMs}`);
    }
    if (busy === 0 && WalBound.sizeOf(this.walPath) <= this.maxBytes) {
      this.retry.reset();
      return { state: 'truncated', bytes };
    }
    this.nextLookAt = now + this.retry.next();
    return { state: 'pinned', bytes };
  }
}
