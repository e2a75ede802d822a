// The tasks the store workers run (workers/store-worker.ts) and what each returns: the one
// contract between the pool (worker-pool.ts) and its workers, so that workers/ depends on
// src/store/ and never the reverse.
import type { MessagePort } from 'node:worker_threads';
import type { EncodedBatch } from '../protocol/ready-frame.js';
import type { UpdateInput } from '../protocol/messages.js';
import type { Cursor } from './reader.js';
import type { RetentionPolicy } from './retention.js';

/**
 * The store stream (workers/store-stream.ts): a long task that reads rows after `cursor`,
 * at most `limit` per batch, and posts them on `port` while `credit` allows (stream-messages.ts).
 */
export interface StreamTask {
  op: 'stream';
  /** The store's resolved path (open.ts resolveStorePath). */
  path: string;
  /** Read the rows after this one (the highest seqs already sent). */
  cursor: Cursor;
  /** Rows per table per batch (--batch-rows). */
  limit: number;
  /** Poll interval where the folder cannot be watched, in ms (--poll-ms). */
  pollMs: number;
  /** Interval of the safety check while watching, in ms. */
  safetyMs: number;
  /** Where StreamMessages go and StreamControls come from; moved to the worker. */
  port: MessagePort;
  /** Batches taken by the main thread (stream-messages.ts createCredit, slot TAKEN). */
  credit: Int32Array;
}

/** One task for a store worker; `path` is the store's resolved path (open.ts resolveStorePath). */
export type StoreTask =
  | {
      op: 'snapshot';
      path: string;
      /** Only the cameras with the newest rows, at most this many (-1: all). */
      maxCameras: number;
    }
  | StreamTask
  | {
      op: 'write';
      path: string;
      updates: UpdateInput[];
      /** The highest seqs sent so far: a store that was replaced must not hand them out again. */
      floor: Cursor;
    }
  | { op: 'prune'; path: string; policy: RetentionPolicy; now: number }
  | { op: 'newest'; path: string }
  | {
      op: 'cameras-without-rows';
      path: string;
      /** Camera ids to look up (a bounded chunk: the task holds a read transaction). */
      cameras: string[];
    }
  /** The store's epoch (created if missing), retention's tile horizon, the newest tile seq. */
  | { op: 'tileState'; path: string }
  /** Tiles with a seq in (after, upTo], in seq order: each coordinate's latest ('map') or all ('since'). */
  | { op: 'tiles'; path: string; read: 'map' | 'since'; after: number; upTo: number; limit: number };

/** The snapshot: each camera's latest valid state (reader.ts snapshot), encoded. */
export interface SnapshotResult {
  /** The states in seq order, each framed in every encoding (docs/protocol.md section 4.8). */
  batch: EncodedBatch;
  /** The store's newest ids when read: live reading starts after it. */
  cursor: Cursor;
}

/** A producer write: stored, in one transaction, all or none. */
export interface WriteResult {
  /** The seq (row id) of each update, in the order given. */
  seqs: number[];
}

/** One retention run (up to 100 chunks of 5000 rows per table). */
export interface PruneResult {
  /** Rows deleted, both tables. */
  deleted: number;
  /** The highest tile seq retention has deleted so far (src/store/meta.ts). */
  tilesPrunedThrough: number;
}

/** docs/protocol.md section 9 as the store knows it. */
export interface TileStateResult {
  epoch: string;
  /** The highest tile seq retention has deleted (0: none). */
  prunedThrough: number;
  /** The newest tile seq in the store (0: none). */
  newest: number;
}

/** One batch of the map or of the tile history, encoded like the store tail's. */
export interface TilesResult {
  batch: EncodedBatch;
  /** The highest seq looked at, invalid rows included: read on from here. */
  last: number;
  /** The batch was full (`limit` rows): more may follow. */
  more: boolean;
}

/** The newest row id of each table, for the cursor-lag metric. */
export type NewestResult = Cursor;

/** The answer to `cameras-without-rows`. */
export interface CamerasWithoutRowsResult {
  /** The cameras asked about that have no row in the store any more, in the order asked. */
  cameras: string[];
}

/** Settings of the whole pool, given as piscina's workerData (worker-pool.ts). */
export interface StoreWorkerData {
  /** --wal-max-bytes: the WAL's bound, also each connection's journal_size_limit. */
  walMaxBytes: number;
  /**
   * With --redis: every batch the workers encode (stream, snapshot, tiles) also marks each
   * frame's seq and each tile's coordinate (EncodedItem.template, src/protocol/ready-frame.ts),
   * so that the Redis bus never encodes on the main thread. Default false.
   */
  seqTemplates?: boolean;
}
