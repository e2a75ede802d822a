// The piscina task that owns every SQLite query of the service: tailing the store (wait for
// a commit, read rows after the cursor, validate, encode), writing producers' updates, and
// retention. The main thread only schedules tasks and receives ready frames.
import Piscina from 'piscina';
import { openStore, type Db } from '../src/store/open.js';
import { StoreReader, type Cursor, type Rejected } from '../src/store/reader.js';
import { StoreWriter } from '../src/store/writer.js';
import { Retention, type RetentionPolicy } from '../src/store/retention.js';
import { encodeBatch, type EncodedBatch } from '../src/protocol/ready-frame.js';
import type { UpdateInput } from '../src/protocol/messages.js';
import { TAIL_NUDGE, TAIL_STOP } from '../src/store/tail-signal.js';

export type StoreTask =
  | { op: 'snapshot'; path: string }
  | {
      op: 'tail';
      path: string;
      cursor: Cursor;
      limit: number;
      /** Read at once (the previous batch hit the limit) instead of waiting for a commit. */
      readNow: boolean;
      waitMs: number;
      pollMs: number;
      signal: Int32Array;
    }
  | { op: 'write'; path: string; updates: UpdateInput[] }
  | { op: 'prune'; path: string; policy: RetentionPolicy; now: number };

export interface SnapshotResult {
  batch: EncodedBatch;
  cursor: Cursor;
}

export interface TailResult {
  batch: EncodedBatch;
  rejected: Rejected[];
  cursor: Cursor;
  more: boolean;
}

export interface WriteResult {
  seqs: number[];
}

export interface PruneResult {
  deleted: number;
}

// Readers and writers get separate connections: PRAGMA data_version only moves for commits
// made by *other* connections, and this worker's own writes must wake its own reader.
interface Connections {
  read?: { db: Db; reader: StoreReader; dataVersion: number | null };
  write?: { db: Db; writer: StoreWriter; retention: Retention };
}

const connections = new Map<string, Connections>();

function connectionsFor(path: string): Connections {
  let entry = connections.get(path);
  if (!entry) {
    entry = {};
    connections.set(path, entry);
  }
  return entry;
}

function readSide(path: string) {
  const entry = connectionsFor(path);
  if (!entry.read) {
    const db = openStore(path);
    entry.read = { db, reader: new StoreReader(db), dataVersion: null };
  }
  return entry.read;
}

function writeSide(path: string) {
  const entry = connectionsFor(path);
  if (!entry.write) {
    // Acknowledged means durable: FULL syncs the WAL on every commit.
    const db = openStore(path, { synchronous: 'FULL' });
    entry.write = { db, writer: new StoreWriter(db), retention: new Retention(db) };
  }
  return entry.write;
}

/** Drops a path's connections after an error, so the next task reopens the file. */
function forget(path: string): void {
  const entry = connections.get(path);
  connections.delete(path);
  try {
    entry?.read?.db.close();
    entry?.write?.db.close();
  } catch {
    // Closing a broken connection may fail too; it is gone either way.
  }
}

/** The result, with its batch's buffer moved to the main thread instead of copied. */
function moving<T extends { batch: EncodedBatch }>(result: T): T {
  const transferable = {
    [Piscina.transferableSymbol]: [result.batch.bytes],
    [Piscina.valueSymbol]: result,
  };
  return Piscina.move(transferable as never) as unknown as T;
}

function snapshot(path: string): SnapshotResult {
  const side = readSide(path);
  const { cameras, cursor } = side.reader.snapshot();
  const batch = encodeBatch(cameras, []);
  return moving({ batch, cursor });
}

function tail(task: Extract<StoreTask, { op: 'tail' }>): TailResult {
  const side = readSide(task.path);
  const deadline = Date.now() + task.waitMs;
  let readNow = task.readNow;
  let nudges = Atomics.load(task.signal, TAIL_NUDGE);
  for (;;) {
    if (Atomics.load(task.signal, TAIL_STOP) !== 0) break;
    const version = side.reader.currentDataVersion();
    if (readNow || version !== side.dataVersion) {
      side.dataVersion = version;
      readNow = false;
      const rows = side.reader.read(task.cursor, task.limit);
      if (rows.cameras.length > 0 || rows.tiles.length > 0 || rows.rejected.length > 0) {
        const result: TailResult = {
          batch: encodeBatch(rows.cameras, rows.tiles),
          rejected: rows.rejected,
          cursor: rows.cursor,
          more: rows.more,
        };
        return moving(result);
      }
    }
    const remaining = deadline - Date.now();
    if (remaining <= 0) break;
    // Sleeps until the poll interval passes or the main thread nudges (a producer's write).
    Atomics.wait(task.signal, TAIL_NUDGE, nudges, Math.min(task.pollMs, remaining));
    const seen = Atomics.load(task.signal, TAIL_NUDGE);
    if (seen !== nudges) readNow = true;
    nudges = seen;
  }
  return { batch: { bytes: new ArrayBuffer(0), items: [] }, rejected: [], cursor: task.cursor, more: false };
}

function write(path: string, updates: UpdateInput[]): WriteResult {
  return { seqs: writeSide(path).writer.insert(updates) };
}

function prune(path: string, policy: RetentionPolicy, now: number): PruneResult {
  const { retention } = writeSide(path);
  let deleted = 0;
  for (let round = 0; round < 100; round++) {
    const removed = retention.pruneOnce(policy, now);
    deleted += removed;
    if (removed === 0) break;
  }
  return { deleted };
}

export default function run(task: StoreTask): SnapshotResult | TailResult | WriteResult | PruneResult {
  try {
    switch (task.op) {
      case 'snapshot':
        return snapshot(task.path);
      case 'tail':
        return tail(task);
      case 'write':
        return write(task.path, task.updates);
      case 'prune':
        return prune(task.path, task.policy, task.now);
    }
  } catch (error) {
    forget(task.path);
    throw error;
  }
}
