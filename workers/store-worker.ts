// The piscina tasks that own every SQLite query of the service: the store stream (a long
// task: wait for commits, read rows after the cursor, validate, encode, post batches),
// the snapshot, producers' writes, retention, and which cameras the store no longer has. The main thread only schedules tasks and
// receives ready frames.
import Piscina from 'piscina';
import type { Db } from '../src/store/open.js';
import { attachStore } from '../src/store/attach.js';
import { StoreReader, type Cursor } from '../src/store/reader.js';
import { StoreWriter } from '../src/store/writer.js';
import { Retention, type RetentionPolicy } from '../src/store/retention.js';
import { encodeBatch, type EncodedBatch } from '../src/protocol/ready-frame.js';
import type { UpdateInput } from '../src/protocol/messages.js';
import { streamStore, type ReadSide } from './store-stream.js';
import type {
  CamerasWithoutRowsResult,
  NewestResult,
  PruneResult,
  SnapshotResult,
  StoreTask,
  StoreWorkerData,
  TileStateResult,
  TilesResult,
  WriteResult,
} from '../src/store/tasks.js';
import { fileIdentity, StoreMissingError } from '../src/store/identity.js';
import { SequenceResetPendingError, sequencesBelow } from '../src/store/sequence-reset.js';
import { DEFAULT_WAL_MAX_BYTES } from '../src/store/wal-bound.js';
import { describeError } from '../src/util/describe-error.js';
import { currentEpoch, tilesPrunedThrough } from '../src/store/meta.js';
import { TileHistoryReader } from '../src/store/tile-history.js';

// Readers and writers get separate connections: PRAGMA data_version only moves for commits
// made by *other* connections, and this worker's own writes must wake its own reader.
interface Connections {
  read?: ReadSide;
  /** Statements on the read connection `db` (rebuilt when that connection is reopened). */
  history?: { db: Db; reader: TileHistoryReader };
  write?: { db: Db; writer: StoreWriter; reader: StoreReader; retention: Retention; identity: string };
}

function settings(): StoreWorkerData {
  const data = Piscina.workerData as Partial<StoreWorkerData> | undefined;
  return { walMaxBytes: data?.walMaxBytes ?? DEFAULT_WAL_MAX_BYTES, seqTemplates: data?.seqTemplates ?? false };
}

/** The read connection's busy timeout, in ms. */
const READ_BUSY_TIMEOUT_MS = 5000;

const connections = new Map<string, Connections>();

function connectionsFor(path: string): Connections {
  let entry = connections.get(path);
  if (!entry) {
    entry = {};
    connections.set(path, entry);
  }
  return entry;
}

/**
 * The identity of the file at `path` now. A connection to any other file (the store was
 * deleted or replaced since it was opened) is closed and dropped; when there is no file at
 * all, this throws (the connection is dropped too: a file that appears later is a new one,
 * even if the file system gives it the old inode number).
 */
function currentFile(path: string, side: 'read' | 'write'): string {
  const entry = connectionsFor(path);
  const open = entry[side];
  const identity = fileIdentity(path);
  if (open !== undefined && open.identity !== identity) {
    closeQuietly(open.db);
    entry[side] = undefined;
  }
  if (identity === null) throw new StoreMissingError(path);
  return identity;
}

function readSide(path: string, lookAtPath = true): ReadSide {
  const open = connections.get(path)?.read;
  if (!lookAtPath && open !== undefined) return open;
  const identity = currentFile(path, 'read');
  const entry = connectionsFor(path);
  if (entry.read === undefined) {
    // An existing, complete wirecam store only: never created or converted here (attach.ts).
    const db = attachStore(path, { busyTimeoutMs: READ_BUSY_TIMEOUT_MS, journalSizeLimitBytes: settings().walMaxBytes });
    entry.read = { db, reader: new StoreReader(db), writer: new StoreWriter(db), identity };
  }
  return entry.read;
}

/** Writers wait at most this long for another process's lock, then retry later (and say so). */
const WRITE_BUSY_TIMEOUT_MS = 1000;

function writeSide(path: string) {
  const identity = currentFile(path, 'write');
  const entry = connectionsFor(path);
  if (entry.write === undefined) {
    // Acknowledged means durable: FULL syncs the WAL on every commit.
    const db = attachStore(path, { synchronous: 'FULL', busyTimeoutMs: WRITE_BUSY_TIMEOUT_MS, journalSizeLimitBytes: settings().walMaxBytes });
    entry.write = { db, writer: new StoreWriter(db), reader: new StoreReader(db), retention: new Retention(db), identity };
  }
  return entry.write;
}

function closeQuietly(db: Db): void {
  try {
    db.close();
  } catch {
    // Closing a broken connection may fail too; it is gone either way.
  }
}

/** Drops a path's connections after an error, so the next task reopens the file. */
function forget(path: string): void {
  const entry = connections.get(path);
  connections.delete(path);
  if (entry?.read) closeQuietly(entry.read.db);
  if (entry?.write) closeQuietly(entry.write.db);
}

/** The result, with its batch's buffer moved to the main thread instead of copied. */
function moving<T extends { batch: EncodedBatch }>(result: T): T {
  const transferable = {
    [Piscina.transferableSymbol]: [result.batch.bytes],
    [Piscina.valueSymbol]: result,
  };
  return Piscina.move(transferable as never) as unknown as T;
}

function snapshot(path: string, maxCameras: number): SnapshotResult {
  const side = readSide(path);
  const { cameras, cursor } = side.reader.snapshot(maxCameras);
  const batch = encodeBatch(cameras, [], { seqTemplates: settings().seqTemplates });
  return moving({ batch, cursor });
}

function tileState(path: string): TileStateResult {
  const side = readSide(path);
  return { epoch: currentEpoch(side.db), prunedThrough: tilesPrunedThrough(side.db), newest: side.reader.newestIds().tile };
}

function tiles(path: string, read: 'map' | 'since', after: number, upTo: number, limit: number): TilesResult {
  const side = readSide(path);
  const entry = connectionsFor(path);
  if (entry.history === undefined || entry.history.db !== side.db) {
    entry.history = { db: side.db, reader: new TileHistoryReader(side.db) };
  }
  const reader = entry.history.reader;
  const rows = read === 'map' ? reader.latestPerCoordinate(after, upTo, limit) : reader.tilesAfter(after, upTo, limit);
  return moving({ batch: encodeBatch([], rows.tiles, { seqTemplates: settings().seqTemplates }), last: rows.last, more: rows.more });
}

/**
 * Stores `updates` in one IMMEDIATE transaction, unless the store's AUTOINCREMENT counters
 * are below `floor` (the highest seqs sent): then the store was restored or replaced and
 * the store tail has not recovered yet (sequence-reset.ts), and the write throws
 * SequenceResetPendingError, to be retried, rather than reuse a seq.
 */
function write(path: string, updates: UpdateInput[], floor: Cursor): WriteResult {
  const side = writeSide(path);
  const seqs = side.db.transaction(() => {
    const below = sequencesBelow(side.reader.positions().sequence, floor);
    if (below !== null) throw new SequenceResetPendingError(below);
    return side.writer.insert(updates);
  }).immediate();
  return { seqs };
}

function prune(path: string, policy: RetentionPolicy, now: number): PruneResult {
  const { retention, db } = writeSide(path);
  let deleted = 0;
  for (let round = 0; round < 100; round++) {
    const removed = retention.pruneOnce(policy, now);
    deleted += removed;
    if (removed === 0) break;
  }
  return { deleted, tilesPrunedThrough: tilesPrunedThrough(db) };
}

/**
 * The piscina task function: runs one StoreTask (src/store/tasks.ts) on the store at
 * `task.path` and returns its result; `stream` returns a promise that resolves when the
 * stream is told to stop. A batch in a result is moved, not copied, to the main thread.
 * Any error drops the path's connections (the next task reopens the file) and is thrown
 * again as a plain Error whose message is describeError()'s description (an SqliteError
 * would lose its message crossing threads): StoreMissingError, StoreNotUsableError,
 * SequenceResetPendingError (a write while the store's counters are below `floor`),
 * SQLITE_BUSY past the busy timeout (writes: 1 s; reads: 5 s), other SQLite errors.
 */
export default function run(
  task: StoreTask,
): SnapshotResult | WriteResult | PruneResult | NewestResult | CamerasWithoutRowsResult | TileStateResult | TilesResult | Promise<void> {
  try {
    switch (task.op) {
      case 'snapshot':
        return snapshot(task.path, task.maxCameras);
      case 'stream':
        return streamStore(task, {
          openSide: (lookAtPath) => readSide(task.path, lookAtPath),
          forget: () => forget(task.path),
          walMaxBytes: settings().walMaxBytes,
          busyTimeoutMs: READ_BUSY_TIMEOUT_MS,
          seqTemplates: settings().seqTemplates ?? false,
        });
      case 'write':
        return write(task.path, task.updates, task.floor);
      case 'prune':
        return prune(task.path, task.policy, task.now);
      case 'newest':
        return readSide(task.path).reader.newestIds();
      case 'cameras-without-rows':
        return { cameras: readSide(task.path).reader.camerasWithoutRows(task.cameras) };
      case 'tileState':
        return tileState(task.path);
      case 'tiles':
        return tiles(task.path, task.read, task.after, task.upTo, task.limit);
    }
  } catch (error) {
    forget(task.path);
    // An SqliteError crosses to the main thread as a plain object with only its code (its
    // message is not an own enumerable property); a plain Error keeps the message.
    throw new Error(describeError(error));
  }
}
