// The source of everything that reaches the store: a long task in the worker pool streams
// batches of ready frames (rows after the cursor, validated and encoded) over a MessagePort;
// here they are taken in order, tagged with their producer, and passed on.
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { Subject, type Observable } from 'rxjs';
import { framesOf, type ReadyFrame } from '../protocol/ready-frame.js';
import type { Cursor, Rejected } from '../store/reader.js';
import type { StorePool } from '../store/worker-pool.js';
import { createCredit, TAKEN, type StreamControl, type StreamMessage } from '../store/stream-messages.js';
import type { StoreReset } from '../store/sequence-reset.js';
import type { WalOutcome } from '../store/wal-bound.js';
import type { Origins } from './origins.js';

/** How the worker reads (README settings: --batch-rows, --poll-ms). */
export interface StoreTailOptions {
  /** Rows read per table per batch (--batch-rows). */
  limit: number;
  /** Poll interval in ms, used only where the store's folder cannot be watched (--poll-ms). */
  pollMs: number;
  /** Interval in ms of the worker's safety check while it is woken by commits (250). */
  safetyMs?: number;
}

/** What the tail reports to the node (node.ts logs them; `failed`/`recovered` set /healthz's store state). */
export interface StoreTailEvents {
  /** Rows that failed validation (table, id, reason); the cursor moved past them. */
  rejected(rows: readonly Rejected[]): void;
  /**
   * Reading failed (reported at first, then every few seconds while it lasts; the worker
   * keeps trying), or the stream task itself died (it is started again after 1 s).
   */
  failed(error: unknown): void;
  /** Reading works again after `failed`. */
  recovered(): void;
  /**
   * The store's sequence space was reset (another file at the path, its sequence rolled
   * back, its newest rows removed) and the worker recovered: ids continue above every seq
   * sent, each camera's latest state in the store (`reset.cameras`) was recorded again and
   * comes next, and reading continues after `reset.cursor`. The one event on the main thread
   * for "the store's sequence space was reset or the file replaced" (sequence-reset.ts).
   */
  reset(reset: StoreReset): void;
  /**
   * Whether commits wake the reader (the store's folder is watched) or it polls;
   * `rewatched`: another folder now at the store's path is watched instead of the old one.
   */
  watching(watched: boolean, rewatched: boolean): void;
  /** The WAL passed --wal-max-bytes and was truncated, or a reader pins it. */
  wal(outcome: Exclude<WalOutcome, { state: 'within' }>): void;
  /** Resolves once writes that may have produced these rows have reported their origins. */
  beforePublish(): Promise<void> | null;
}

const RESTART_AFTER_MS = 1000;

/**
 * The main thread's end of the store stream (see the file's comment): `frames` emits each
 * batch of ready frames in the order the worker read them (rows in id order per table),
 * each frame's `origin` the producer that wrote it (Origins), 0 for another process's row.
 * Flow control: the worker posts at most MAX_BATCHES_IN_FLIGHT (4) batches not yet taken
 * here (stream-messages.ts); a batch is taken when it is emitted.
 */
export class StoreTail {
  private readonly subject = new Subject<readonly ReadyFrame[]>();
  readonly frames: Observable<readonly ReadyFrame[]> = this.subject.asObservable();
  private cursor: Cursor = { camera: 0, tile: 0 };
  private port: MessagePort | null = null;
  private credit = createCredit();
  private running: Promise<void> | null = null;
  private queue: StreamMessage[] = [];
  private draining = false;
  private stopped = false;

  constructor(
    private readonly pool: StorePool,
    private readonly origins: Origins,
    private readonly options: StoreTailOptions,
    private readonly events: StoreTailEvents,
  ) {}

  /** The last row id read per table (a copy): the stream continues after it. */
  get position(): Cursor {
    return { ...this.cursor };
  }

  /**
   * Reads the latest valid state of each camera (at most --max-cameras, those with the newest
   * rows), in seq order, in one read transaction in the worker pool; live reading continues
   * after it. Rejects when the store cannot be read.
   */
  async snapshot(): Promise<ReadyFrame[]> {
    const result = await this.pool.snapshot();
    this.cursor = result.cursor;
    return framesOf(result.batch, () => 0);
  }

  /**
   * Starts the stream task in the worker pool after `position` (after `snapshot`, if taken).
   * Does nothing when running or stopped. Never throws: if the task dies, `failed` is
   * reported and it is started again after 1 s.
   */
  start(): void {
    if (this.running !== null || this.stopped) return;
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    this.credit = createCredit();
    port1.on('message', (message: StreamMessage) => {
      this.queue.push(message);
      void this.drain();
    });
    this.running = this.pool
      .stream({
        cursor: this.cursor,
        limit: this.options.limit,
        pollMs: this.options.pollMs,
        safetyMs: this.options.safetyMs ?? 250,
        port: port2,
        credit: this.credit,
      })
      .catch((error: unknown) => {
        // The stream task itself died (not a read error, which it reports and survives).
        this.events.failed(error);
        port1.close();
        this.running = null;
        if (!this.stopped) setTimeout(() => this.start(), RESTART_AFTER_MS).unref();
      });
  }

  /**
   * One of our producers' writes was committed: look now. The worker's watch sees the write
   * too, but a synchronous=FULL commit becomes visible only after its fsync, later than the
   * write the watch reports; here the commit is known to be done.
   */
  nudge(): void {
    this.control({ type: 'check' });
  }

  /** Tells the worker to stop, waits for the stream task to end, completes `frames`. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.control({ type: 'stop' });
    await this.running;
    this.port?.close();
    this.subject.complete();
  }

  private control(message: StreamControl): void {
    this.port?.postMessage(message);
  }

  /** Batches are published one after another, in the order the worker read them. */
  private async drain(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    while (this.queue.length > 0) {
      const message = this.queue.shift()!;
      switch (message.type) {
        case 'batch': {
          const wait = this.events.beforePublish();
          if (wait !== null) await wait;
          this.cursor = message.cursor;
          if (message.rejected.length > 0) this.events.rejected(message.rejected);
          const frames = framesOf(message.batch, (item) => this.origins.take(item.kind, item.seq));
          Atomics.add(this.credit, TAKEN, 1);
          if (frames.length > 0 && !this.stopped) this.subject.next(frames);
          break;
        }
        case 'failed':
          this.events.failed(new Error(message.error));
          break;
        case 'recovered':
          this.events.recovered();
          break;
        case 'reset':
          this.cursor = message.reset.cursor;
          this.events.reset(message.reset);
          break;
        case 'watching':
          this.events.watching(message.watching, message.rewatched);
          break;
        case 'wal':
          this.events.wal(message.outcome);
          break;
      }
    }
    this.draining = false;
  }
}
