// Updates from WebSocket producers: queued, written to the store many per transaction (one
// write in flight at a time, so a producer's updates keep their order), acknowledged once
// committed, then broadcast by the store tail like any other row.
import type { UpdateInput } from '../protocol/messages.js';
import type { StorePool } from '../store/worker-pool.js';
import type { Origins } from './origins.js';
import type { Cursor } from '../store/reader.js';
import { describeError } from '../util/describe-error.js';
import { Backoff } from '../util/backoff.js';

/** The producer connection an update came from (a Session, or the --source-cmd source). */
export interface ProducerSink {
  /**
   * Its connection id, recorded as the row's origin so that the update is not echoed back to
   * it (docs/protocol.md section 5); 0 for --source-cmd, whose updates reach every client.
   */
  readonly id: number;
  /** The update is committed (synchronous=FULL) as the row with id `seq`: `ack` it (docs/protocol.md section 4.5). */
  acknowledge(seq: number): void;
}

/** What the writer reports (node.ts counts and logs it). */
export interface ProducerWriterEvents {
  /** `count` updates were committed in one transaction. */
  stored(count: number): void;
  /** A write failed and will be retried; `pending`: updates now waiting, the failed batch included. */
  failed(error: unknown, pending: number): void;
  /** Called after every commit: the tail should read now. */
  committed(): void;
}

interface Queued {
  update: UpdateInput;
  sink: ProducerSink;
}

/** Bounds of the writer (node.ts: 500 per transaction, 10,000 queued). */
export interface ProducerWriterOptions {
  /** Most updates per transaction. */
  maxBatch: number;
  /** Updates waiting for the store beyond this are refused (not acknowledged). */
  maxQueued: number;
  /** The highest seqs sent so far (see StorePool.write). */
  floor: () => Cursor;
}

/**
 * The producers' write queue (see the file's comment): updates wait in memory (one arriving
 * while `maxQueued` wait is refused; a producer that can wait uses enqueue's `limit` and room()) and go to the store in the worker pool, at most
 * `maxBatch` per transaction, one transaction at a time. A failed write (another process holds the lock past the busy
 * timeout, the file is gone or read-only) is retried whole, in order, after 50 ms doubling to
 * 2 s, until it succeeds or `abandon`; nothing is acknowledged before its commit.
 */
export class ProducerWriter {
  private queue: Queued[] = [];
  private inFlight: Promise<void> | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private scheduled = false;
  /** Retry delays after a failed write: 50 ms, doubling to 2 s. */
  private readonly backoff = new Backoff({ initialDelayMs: 50, maxDelayMs: 2000, jitter: 0 });
  private idleWaiters: Array<() => void> = [];
  /** room() callers: each resolved once at most `level` updates are queued. */
  private roomWaiters: Array<{ level: number; resolve: () => void }> = [];
  private inFlightSince = 0;
  private failingSince = 0;
  private lastFailure: string | null = null;
  /** abandon() was called: a failed write is no longer put back and retried. */
  private abandoned = false;

  constructor(
    private readonly pool: StorePool,
    private readonly origins: Origins,
    private readonly options: ProducerWriterOptions,
    private readonly events: ProducerWriterEvents,
  ) {}


  /**
   * Queues `update` for the store; false when `limit` (at most `maxQueued`, the default)
   * updates are already waiting: the update is then refused and will not be acknowledged. A
   * producer that can wait (the --source-cmd reader) passes a lower limit, keeping the rest of
   * the queue for WebSocket producers, and waits for room() before it offers more.
   */
  enqueue(update: UpdateInput, sink: ProducerSink, limit = this.options.maxQueued): boolean {
    if (this.queue.length >= Math.min(limit, this.options.maxQueued)) return false;
    this.queue.push({ update, sink });
    if (!this.scheduled && this.inFlight === null && this.retryTimer === null) {
      this.scheduled = true;
      // Everything received in this turn of the event loop shares one transaction.
      setImmediate(() => {
        this.scheduled = false;
        this.writeNext();
      });
    }
    return true;
  }

  /**
   * Why updates are waiting for the store, when they are: writes failing (another process
   * holds the lock, the file is gone) or one write taking longer than `slowMs` (ms); null
   * when neither. `now`: ms since the Unix epoch. For /healthz.
   */
  stalled(now: number, slowMs = 1000): string | null {
    if (this.failingSince !== 0) return `producer updates waiting for the store since ${Math.round((now - this.failingSince) / 1000)} s: ${this.lastFailure}`;
    if (this.inFlight !== null && now - this.inFlightSince > slowMs) return `a store write has been waiting ${Math.round(now - this.inFlightSince)} ms (locked by another process?)`;
    return null;
  }

  /** The write in flight now, if any: rows the tail sees may come from it. */
  currentWrite(): Promise<void> | null {
    return this.inFlight;
  }

  /** Resolves when every queued update has been written (or the queue was given up). */
  idle(): Promise<void> {
    if (this.queue.length === 0 && this.inFlight === null) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Updates waiting for the store (the write in flight not included). */
  get queued(): number {
    return this.queue.length;
  }

  /**
   * Resolves once at most `level` updates are queued (at once when that is already so): how a
   * producer that paused on a full queue learns that there is room again. Resolved when a
   * batch leaves the queue for the store, and by abandon(); one waiter per paused producer.
   */
  room(level: number): Promise<void> {
    if (this.queue.length <= level) return Promise.resolve();
    return new Promise((resolve) => this.roomWaiters.push({ level, resolve }));
  }

  private wakeRoomWaiters(): void {
    if (this.roomWaiters.length === 0) return;
    const waiting = this.roomWaiters;
    this.roomWaiters = [];
    for (const waiter of waiting) {
      if (this.queue.length <= waiter.level) waiter.resolve();
      else this.roomWaiters.push(waiter);
    }
  }

  private writeNext(): void {
    if (this.inFlight !== null || this.retryTimer !== null) return;
    if (this.queue.length === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const resolve of waiters) resolve();
      return;
    }
    const batch = this.queue.splice(0, this.options.maxBatch);
    this.wakeRoomWaiters();
    this.inFlightSince = Date.now();
    this.inFlight = this.pool.write(batch.map((item) => item.update), this.options.floor()).then(
      ({ seqs }) => {
        this.backoff.reset();
        this.failingSince = 0;
        this.lastFailure = null;
        for (let i = 0; i < batch.length; i++) {
          const { update, sink } = batch[i]!;
          this.origins.record(update.kind, seqs[i]!, sink.id);
          sink.acknowledge(seqs[i]!);
        }
        this.events.stored(batch.length);
        this.events.committed();
        this.inFlight = null;
        this.writeNext();
      },
      (error: unknown) => {
        this.inFlight = null;
        // Given up (shutdown): the batch is not stored, and the store is about to close.
        if (this.abandoned) return;
        // Not stored: put the batch back in front, in order, and try again later.
        this.queue = batch.concat(this.queue);
        if (this.failingSince === 0) this.failingSince = Date.now();
        this.lastFailure = describeError(error);
        this.events.failed(error, this.queue.length);
        this.retryTimer = setTimeout(() => {
          this.retryTimer = null;
          this.writeNext();
        }, this.backoff.next());
      },
    );
  }

  /**
   * Gives up on what is still queued (shutdown after a failing store): returns how many
   * updates were dropped, never acknowledged. A write in flight still completes or fails
   * (within the store's busy timeout, 5 s); a failed one is not retried. Await
   * currentWrite() before closing the pool: a worker stopped in the middle of a write aborts
   * the process.
   */
  abandon(): number {
    this.abandoned = true;
    const dropped = this.queue.length;
    this.queue = [];
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.wakeRoomWaiters();
    if (this.inFlight === null) this.writeNext();
    return dropped;
  }
}
