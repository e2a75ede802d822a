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

/** How a StorePool's calls are made. */
export interface StorePoolOptions {
  /** The snapshot holds the cameras with the newest rows, at most this many (--max-cameras); all by default. */
  maxCameras?: number;
}

/**
 * Each store worker's young generation (MiB, V8's `maxYoungGenerationSizeMb`): its tasks
 * allocate rows and frames that die at once, so a small young generation costs nothing and
 * keeps a few MiB per worker from staying resident after a burst (bench scenario `idle`).
 */
const WORKER_YOUNG_GENERATION_MB = 2;

/** How long close() waits for running tasks (a busy-timeout wait is at most 5 s). */
const CLOSE_WAIT_MS = 6_000;

/**
 * Two piscina worker threads (workers/store-worker.ts) that run every SQLite query of the
 * service, and one typed method per task (tasks.ts). `path` is the store's resolved path
 * (open.ts resolveStorePath); the store must exist (the main thread creates it with
 * openStore): workers attach to it and never create it.
 *
 * A task that fails rejects its promise with a plain Error whose message describes the cause
 * (describeError: the SQLite code and text, StoreMissingError's or StoreNotUsableError's
 * message, a SequenceResetPendingError's message for a write); the connection it used is
 * dropped and the next task reopens the store. After close() every call rejects.
 */
export class StorePool {
  /** Short tasks (not the stream) until they settle. */
  private readonly running = new Set<Promise<void>>();
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
    this.pool = new Piscina({ filename: workerFile(), minThreads: 2, maxThreads: 2, idleTimeout: Infinity, resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB }, workerData: settings });
  }

  /** Tasks waiting for a free worker now (both are busy): a gauge for /metrics. */
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
    const running = this.pool.run(task) as Promise<T>;
    const settled = running.then(
      () => undefined,
      () => undefined,
    );
    this.running.add(settled);
    void settled.then(() => this.running.delete(settled));
    return running;
  }

  /**
   * The latest valid state of each camera (at most `maxCameras`, those with the newest rows),
   * encoded, in seq order, and the cursor live reading continues after.
   */
  snapshot(): Promise<SnapshotResult> {
    return this.run({ op: 'snapshot', path: this.path, maxCameras: this.options.maxCameras ?? -1 });
  }

  /**
   * Runs the store tail (workers/store-stream.ts) in a worker for as long as the service
   * runs: batches and events are posted on `request.port` (moved to the worker) as
   * StreamMessages, paced by `request.credit`. Resolves once a `stop` StreamControl is
   * received; read errors are posted as `failed` and retried, and reject nothing. Rejects
   * only when the task itself dies (the worker exits).
   */
  stream(request: StreamRequest): Promise<void> {
    return this.pool.run({ op: 'stream', path: this.path, ...request } satisfies StoreTask, { transferList: [request.port] }) as Promise<void>;
  }

  /**
   * Stores `updates` (validated; the caller bounds the batch) in one transaction with
   * synchronous=FULL and resolves with their seqs in order: once resolved they are durable.
   * `floor`: the highest seqs sent so far, which a replaced store must not hand out again;
   * while the store's counters are below it the write rejects (SequenceResetPendingError's
   * message) and nothing is stored. Rejects on SQLITE_BUSY after 1 s of another process's
   * lock, or any other SQLite error; nothing is stored then either.
   */
  write(updates: UpdateInput[], floor: Cursor): Promise<WriteResult> {
    return this.run({ op: 'write', path: this.path, updates, floor });
  }

  /**
   * Deletes what `policy` no longer keeps, as of now (Date.now), in chunks of 5000 rows per
   * table and at most 100 chunks per call; call again later for the rest. Rejects on
   * SQLite errors (rows deleted by earlier chunks stay deleted).
   */
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

  /** The store's epoch, retention's tile horizon and newest tile seq (docs/protocol.md 9). */
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

  /**
   * Stops both workers: first waits (at most CLOSE_WAIT_MS) for the short tasks still running
   * (a write or retention pass waiting for another process's lock must not have its thread
   * torn down under SQLite: that aborts the process), then piscina destroy: what is still
   * queued or running, the stream included, rejects; the connections close with the threads.
   */
  async close(): Promise<void> {
    if (this.running.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.all(this.running),
        new Promise<void>((resolve) => (timer = setTimeout(resolve, CLOSE_WAIT_MS))),
      ]);
      clearTimeout(timer);
    }
    await this.pool.destroy();
  }
}
