// The piscina tasks that own every SQLite query of the service: the store stream (a long
// task: wait for commits, read rows after the cursor, validate, encode, post batches),
// the snapshot, producers' writes, and retention. The main thread only schedules tasks and
// receives ready frames.
import Piscina from 'piscina';
import { openStore, type Db } from '../src/store/open.js';
import { StoreReader, type Cursor } from '../src/store/reader.js';
import { StoreWriter } from '../src/store/writer.js';
import { Retention, type RetentionPolicy } from '../src/store/retention.js';
import { encodeBatch, type EncodedBatch } from '../src/protocol/ready-frame.js';
import type { UpdateInput } from '../src/protocol/messages.js';
import { streamStore, type StreamTask } from './store-stream.js';

export type { StreamTask };

export type StoreTask =
  | { op: 'snapshot'; path: string }
  | StreamTask
  | { op: 'write'; path: string; updates: UpdateInput[] }
  | { op: 'prune'; path: string; policy: RetentionPolicy; now: number }
  | { op: 'newest'; path: string };

export interface SnapshotResult {
  batch: EncodedBatch;
  cursor: Cursor;
}

export interface WriteResult {
  seqs: number[];
}

export interface PruneResult {
  deleted: number;
}

/** The newest row id of each table, for the cursor-lag metric. */
export type NewestResult = Cursor;

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

export default function run(task: StoreTask): SnapshotResult | WriteResult | PruneResult | NewestResult | Promise<void> {
  try {
    switch (task.op) {
      case 'snapshot':
        return snapshot(task.path);
      case 'stream':
        return streamStore(task, () => readSide(task.path).reader, () => forget(task.path));
      case 'write':
        return write(task.path, task.updates);
      case 'prune':
        return prune(task.path, task.policy, task.now);
      case 'newest':
        return readSide(task.path).reader.newestIds();
    }
  } catch (error) {
    forget(task.path);
    throw error;
  }
}
