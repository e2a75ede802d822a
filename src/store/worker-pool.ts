// The pool of store workers and typed calls into it. The store stream occupies one worker
// for as long as the service runs; writes, snapshot and retention run on the other, so
// neither waits for the other.
import { Piscina } from 'piscina';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Cursor } from './reader.js';
import type { RetentionPolicy } from './retention.js';
import type { UpdateInput } from '../protocol/messages.js';
import type {
  CamerasWithoutRowsResult,
  NewestResult,
  PruneResult,
  SnapshotResult,
  StoreTask,
  StoreWorkerData,
  StreamTask,
  TileStateResult,
  TilesResult,
  WriteResult,
} from './tasks.js';

export type { SnapshotResult, TileStateResult, TilesResult };

/** The compiled worker; from sources (tests) the build output is used. */
function workerFile(): string {
  const sibling = fileURLToPath(new URL('../../workers/store-worker.js', import.meta.url));
  if (existsSync(sibling)) return sibling;
  return fileURLToPath(new URL('../../dist/workers/store-worker.js', import.meta.url));
}

/** Mean, min, max and percentiles (p50, p99, ...) in ms, as piscina keeps them. */
export type TimeSummary = Piscina['histogram']['runTime'];

/** The stream task as the main thread asks for it (its port is moved to the worker). */
export type StreamRequest = Omit<StreamTask, 'op' | 'path'>;

export interface StorePoolOptions {
  /** The snapshot holds the cameras with the newest rows, at most this many (--max-cameras); all by default. */
  maxCameras?: number;
}

export class StorePool {
  private readonly pool: Piscina;

  /**
   * `settings`: what every worker needs (the WAL's bound in bytes), given as workerData;
   * `options`: how this pool's calls are made.
   */
  constructor(
    private readonly path: string,
    settings: StoreWorkerData,
    private readonly options: StorePoolOptions = {},
  ) {
    this.pool = new Piscina({ filename: workerFile(), minThreads: 2, maxThreads: 2, idleTimeout: Infinity, workerData: settings });
  }

  get queueSize(): number {
    return this.pool.queueSize;
  }


  /** Tasks finished since start. */
  get completed(): number {
    return this.pool.completed;
  }

  /** Piscina's run and queue-wait time summaries (ms) since start. */
  get taskTimes(): { runTime: TimeSummary; waitTime: TimeSummary } {
    const { runTime, waitTime } = this.pool.histogram;
    return { runTime, waitTime };
  }

  private run<T>(task: StoreTask): Promise<T> {
    return this.pool.run(task) as Promise<T>;
  }

  snapshot(): Promise<SnapshotResult> {
    return this.run({ op: 'snapshot', path: this.path, maxCameras: this.options.maxCameras ?? -1 });
  }

  /** Streams batches on `request.port` until told to stop; resolves then. */
  stream(request: StreamRequest): Promise<void> {
    return this.pool.run({ op: 'stream', path: this.path, ...request } satisfies StoreTask, { transferList: [request.port] }) as Promise<void>;
  }

  /** `floor`: the highest seqs sent so far, which a replaced store must not hand out again. */
  write(updates: UpdateInput[], floor: Cursor): Promise<WriteResult> {
    return this.run({ op: 'write', path: this.path, updates, floor });
  }

  prune(policy: RetentionPolicy): Promise<PruneResult> {
    return this.run({ op: 'prune', path: this.path, policy, now: Date.now() });
  }

  /** The newest row id of each table; one cheap query, for metrics, never on the broadcast path. */
  newestIds(): Promise<NewestResult> {
    return this.run({ op: 'newest', path: this.path });
  }

  /**
   * Which of `cameras` have no row in the store any more (one index lookup each, in a
   * worker). Keep the list short (a few thousand): the task holds a read transaction.
   */
  async camerasWithoutRows(cameras: string[]): Promise<string[]> {
    const result = await this.run<CamerasWithoutRowsResult>({ op: 'cameras-without-rows', path: this.path, cameras });
    return result.cameras;
  }

  /** The store's epoch, retention's tile horizon and newest tile seq (PROTOCOL.md 9). */
  tileState(): Promise<TileStateResult> {
    return this.run({ op: 'tileState', path: this.path });
  }

  /**
   * One batch (at most `limit` rows) of tiles with a seq in (after, upTo], in seq order:
   * each coordinate's latest ('map') or every one ('since'). Read on from `last` while `more`.
   */
  tiles(read: 'map' | 'since', after: number, upTo: number, limit: number): Promise<TilesResult> {
    return this.run({ op: 'tiles', path: this.path, read, after, upTo, limit });
  }

  async close(): Promise<void> {
    await this.pool.destroy();
  }
}
