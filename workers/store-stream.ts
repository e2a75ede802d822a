// The store tail, inside a worker: woken by the kernel when the store's files are written
// (fs.watch on its folder), it checks PRAGMA data_version (cheap: it only moves when another
// connection commits), reads the rows after its cursor, validates and encodes them, and
// posts them to the main thread as one transferred buffer per batch. No polling while the
// folder can be watched; a slow safety check catches anything a watch could miss, follows
// the folder when another one is renamed into its place, and keeps the WAL bounded. At
// every data_version change it also checks that the store's sequence space was not reset
// under it (sequence-reset.ts) and recovers when it was.
import { encodeBatch } from '../src/protocol/ready-frame.js';
import type { Cursor } from '../src/store/reader.js';
import { detectStoreReset, resetSequenceSpace } from '../src/store/sequence-reset.js';
import { StoreMissingError } from '../src/store/identity.js';
import { FolderWatch } from '../src/store/folder-watch.js';
import { WAL_CHECK_INTERVAL_MS, WalBound } from '../src/store/wal-bound.js';
import { describeError } from '../src/util/describe-error.js';
import type { StreamTask } from '../src/store/tasks.js';
import type { Db } from '../src/store/open.js';
import type { StoreReader } from '../src/store/reader.js';
import type { StoreWriter } from '../src/store/writer.js';
import { MAX_BATCHES_IN_FLIGHT, TAKEN, type StreamControl, type StreamMessage } from '../src/store/stream-messages.js';
import { Backoff } from '../src/util/backoff.js';

/**
 * A worker's read connection to the store and what is prepared on it. Opened by the worker
 * (store-worker.ts) on first use, dropped after an error or when another file sits at the
 * path, so a ReadSide is never kept across calls to StreamSupport.openSide.
 */
export interface ReadSide {
  /** The connection (synchronous=NORMAL; busy timeout StreamSupport.busyTimeoutMs). */
  db: Db;
  /** Reads of the store tail and the snapshot on `db`. */
  reader: StoreReader;
  /** Writes on the read connection: only the recovery from a reset (sequence-reset.ts). */
  writer: StoreWriter;
  /** The file this connection has open (see src/store/identity.ts). */
  identity: string;
}

/** What the stream needs from the worker besides its task. */
export interface StreamSupport {
  /**
   * The read connection to the file now at the path (opened when needed). With
   * `lookAtPath` false, the connection already open is returned without looking at the path
   * (a stat): the caller knows that no file was renamed, created or deleted there since it
   * last looked. Throws StoreMissingError (no file), StoreNotUsableError (not a complete
   * store yet) or what SQLite throws; the stream reports it as `failed` and retries.
   */
  openSide: (lookAtPath?: boolean) => ReadSide;
  /** Drops the path's connections after an error. */
  forget: () => void;
  /** --wal-max-bytes: past it the WAL is checkpointed and truncated (wal-bound.ts). */
  walMaxBytes: number;
  /** The read connection's busy timeout (ms), restored after a checkpoint. */
  busyTimeoutMs: number;
  /** Mark each frame's seq for the Redis bus (StoreWorkerData.seqTemplates, encodeBatch). */
  seqTemplates: boolean;
}

/**
 * A commit is several writes (WAL frames, an fsync with synchronous=FULL, then the index
 * header in shared memory, which no file event reports), so a check right after a write may
 * come before the commit is visible: then it looks again after these delays, until it sees
 * the commit or the next write wakes it. Most commits are visible at the first or second look.
 */
const RECHECK_AFTER_MS = [1, 3, 10, 30, 100];
const FAILURE_REPORT_MS = 5000;
/** After a failed read: 100 ms, doubling with every second the store has been failing, up to 2 s. */
const FAILURE_DELAYS = new Backoff({ initialDelayMs: 100, maxDelayMs: 2000, jitter: 0 });

/**
 * Runs the store tail until told to stop (resolves then). Posts StreamMessages on
 * `task.port` (stream-messages.ts): a `watching` at once, then `batch`es of at most
 * `task.limit` rows per table, each table in seq order, never more than
 * MAX_BATCHES_IN_FLIGHT ahead of `task.credit`; `reset`, `wal`, `failed` and `recovered` as
 * they happen. Answers `check` and `stop` StreamControls from the port. Read errors are
 * reported as `failed` (at once when the reason changes, else every 5 s) and retried after
 * 100 ms, doubling to 2 s; they never end the task.
 */
export function streamStore(task: StreamTask, support: StreamSupport): Promise<void> {
  const { port, credit } = task;
  const { openSide, forget } = support;
  let cursor = task.cursor;
  let posted = 0;
  let dataVersion: number | null = null;
  let identity: string | null = null;
  /** The store's newest ids at the previous look (for `rows_removed`). */
  let previousNewest: Cursor | null = null;
  let lastFailure = '';
  let nextHousekeeping = 0;
  let walPinned = false;
  let readAgain = true;
  /**
   * Whether the file at the path may have changed since the last look (a rename event, the
   * safety check, or no watch to tell): then check() looks at the path (a stat) before reading.
   */
  let lookAtPath = true;
  /** Index into RECHECK_AFTER_MS of the next look; its length: none due. */
  let recheck = RECHECK_AFTER_MS.length;
  let failingSince = 0;
  let lastFailureReport = 0;
  let timer: NodeJS.Timeout | null = null;
  let timerAt = Infinity;
  let immediate: NodeJS.Immediate | null = null;
  let safety: NodeJS.Timeout | null = null;
  let finish!: () => void;
  const done = new Promise<void>((resolve) => (finish = resolve));

  const post = (message: StreamMessage, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer);

  const soon = () => {
    immediate ??= setImmediate(() => {
      immediate = null;
      check();
    });
  };

  const after = (ms: number) => {
    const at = Date.now() + ms;
    if (timer !== null && timerAt <= at) return;
    if (timer !== null) clearTimeout(timer);
    timerAt = at;
    timer = setTimeout(() => {
      timer = null;
      timerAt = Infinity;
      check();
    }, ms);
  };

  function check(): void {
    if (posted - Atomics.load(credit, TAKEN) >= MAX_BATCHES_IN_FLIGHT) {
      // The main thread is behind: read nothing more until it catches up.
      after(1);
      return;
    }
    try {
      const side = openSide(lookAtPath || !folder.watching);
      lookAtPath = false;
      const replaced = identity !== null && side.identity !== identity;
      const store = side.reader;
      const version = store.currentDataVersion();
      if (!replaced && !readAgain && version === dataVersion) {
        if (recheck < RECHECK_AFTER_MS.length) after(RECHECK_AFTER_MS[recheck++]!);
        return;
      }
      recheck = RECHECK_AFTER_MS.length;
      dataVersion = version;
      const positions = store.positions();
      const found = detectStoreReset(cursor, positions, previousNewest, replaced);
      if (found !== null) {
        // Raises the sequences and re-records each camera's latest state, in one transaction;
        // on error (another process's lock) nothing changed and the next check detects it again.
        const reset = resetSequenceSpace(side.db, store, side.writer, cursor, found, Date.now());
        cursor = reset.cursor;
        previousNewest = store.positions().newest;
        post({ type: 'reset', reset });
      } else {
        previousNewest = positions.newest;
      }
      identity = side.identity;
      const rows = store.read(cursor, task.limit, previousNewest);
      if (failingSince !== 0) {
        failingSince = 0;
        post({ type: 'recovered' });
      }
      readAgain = rows.more;
      if (rows.cameras.length > 0 || rows.tiles.length > 0 || rows.rejected.length > 0) {
        cursor = rows.cursor;
        const batch = encodeBatch(rows.cameras, rows.tiles, { seqTemplates: support.seqTemplates });
        posted++;
        post({ type: 'batch', batch, rejected: rows.rejected, cursor }, [batch.bytes]);
      }
      if (readAgain) soon();
    } catch (error) {
      forget();
      readAgain = true;
      // Whatever file appears at the path from now on is another one.
      // (A file that is there but not usable yet keeps its identity: when it becomes usable,
      // it is another file than the store only if its identity (identity.ts) says so.)
      if (error instanceof StoreMissingError) identity = 'missing';
      const now = Date.now();
      if (failingSince === 0) failingSince = now;
      const description = describeError(error);
      // Reported at once when the reason changes (missing, then being copied, then ...).
      if (now - lastFailureReport >= FAILURE_REPORT_MS || description !== lastFailure) {
        lastFailureReport = now;
        lastFailure = description;
        post({ type: 'failed', error: description });
      }
      after(FAILURE_DELAYS.delayAfter(Math.floor((now - failingSince) / 1000)));
    }
  }

  const onWrite = (renamed = false) => {
    if (renamed) lookAtPath = true;
    recheck = 0;
    soon();
  };

  const folder = new FolderWatch(task.path, onWrite);
  const wal = new WalBound(`${task.path}-wal`, support.walMaxBytes, support.busyTimeoutMs);

  function startSafety(ms: number): void {
    if (safety !== null) clearInterval(safety);
    safety = setInterval(tick, ms);
  }

  /**
   * The safety check: the folder watched is the one at the path, the WAL within its bound
   * (both at most every WAL_CHECK_INTERVAL_MS), then a look at the store.
   */
  function tick(): void {
    const now = Date.now();
    if (now >= nextHousekeeping) {
      nextHousekeeping = now + WAL_CHECK_INTERVAL_MS;
      const change = folder.ensure();
      if (change !== null) {
        startSafety(change.watching ? task.safetyMs : task.pollMs);
        post({ type: 'watching', watching: change.watching, rewatched: change.watching && change.rewatched });
        // Commits may have come while the new folder was not watched, and the store is another file.
        onWrite(true);
      }
      boundWal(now);
    }
    // While the store fails, the failure path schedules its own (slower) retries.
    lookAtPath = true;
    if (failingSince === 0) check();
  }

  function boundWal(now: number): void {
    try {
      const outcome = wal.check(openSide().db, now);
      if (outcome === null || outcome.state === 'within') {
        if (outcome !== null) walPinned = false;
        return;
      }
      if (outcome.state === 'pinned' && walPinned) return;
      walPinned = outcome.state === 'pinned';
      post({ type: 'wal', outcome });
    } catch {
      // A store that cannot be opened or checkpointed now: check() reports why.
    }
  }

  folder.ensure();
  startSafety(folder.watching ? task.safetyMs : task.pollMs);
  post({ type: 'watching', watching: folder.watching, rewatched: false });

  port.on('message', (control: StreamControl) => {
    if (control.type === 'check') onWrite();
    else if (control.type === 'stop') {
      folder.close();
      if (safety !== null) clearInterval(safety);
      if (timer !== null) clearTimeout(timer);
      if (immediate !== null) clearImmediate(immediate);
      port.close();
      finish();
    }
  });
  check();
  return done;
}
