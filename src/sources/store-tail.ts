// The source of everything that reaches the store: a loop of tail tasks in the worker pool,
// each waiting for a commit and returning the next batch of ready frames after the cursor.
import { Subject, type Observable } from 'rxjs';
import { framesOf, type ReadyFrame } from '../protocol/ready-frame.js';
import type { Cursor, Rejected } from '../store/reader.js';
import type { StorePool } from '../store/worker-pool.js';
import { createTailSignal, nudgeTail, stopTail } from '../store/tail-signal.js';
import type { Origins } from './origins.js';

export interface StoreTailOptions {
  limit: number;
  pollMs: number;
  /** How long one task waits for a commit before returning empty (bounds shutdown latency). */
  waitMs?: number;
}

export interface StoreTailEvents {
  rejected(rows: readonly Rejected[]): void;
  failed(error: unknown): void;
  recovered(): void;
  /** Resolves once writes that may have produced these rows have reported their origins. */
  beforePublish(): Promise<void> | null;
}

export class StoreTail {
  private readonly subject = new Subject<readonly ReadyFrame[]>();
  readonly frames: Observable<readonly ReadyFrame[]> = this.subject.asObservable();
  private readonly signal = createTailSignal();
  private cursor: Cursor = { camera: 0, tile: 0 };
  private stopped = false;
  private loop: Promise<void> | null = null;
  private failing = false;

  constructor(
    private readonly pool: StorePool,
    private readonly origins: Origins,
    private readonly options: StoreTailOptions,
    private readonly events: StoreTailEvents,
  ) {}

  get position(): Cursor {
    return { ...this.cursor };
  }

  /** Reads the latest state of each camera and returns it; live reading continues after it. */
  async snapshot(): Promise<ReadyFrame[]> {
    const result = await this.pool.snapshot();
    this.cursor = result.cursor;
    return framesOf(result.batch, () => 0);
  }

  start(): void {
    this.loop ??= this.run();
  }

  /** A producer's write was committed: read it now instead of at the next poll. */
  nudge(): void {
    nudgeTail(this.signal);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    stopTail(this.signal);
    await this.loop;
    this.subject.complete();
  }

  private async run(): Promise<void> {
    let readNow = true;
    let backoffMs = 100;
    while (!this.stopped) {
      try {
        const result = await this.pool.tail({
          cursor: this.cursor,
          limit: this.options.limit,
          readNow,
          waitMs: this.options.waitMs ?? 250,
          pollMs: this.options.pollMs,
          signal: this.signal,
        });
        if (this.failing) {
          this.failing = false;
          backoffMs = 100;
          this.events.recovered();
        }
        readNow = result.more;
        if (result.rejected.length > 0) this.events.rejected(result.rejected);
        if (result.batch.items.length > 0) {
          const wait = this.events.beforePublish();
          if (wait !== null) await wait;
          const frames = framesOf(result.batch, (item) => this.origins.take(item.kind, item.seq));
          this.cursor = result.cursor;
          this.subject.next(frames);
        } else {
          this.cursor = result.cursor;
        }
      } catch (error) {
        if (this.stopped) break;
        this.failing = true;
        this.events.failed(error);
        await new Promise((resolve) => setTimeout(resolve, backoffMs));
        backoffMs = Math.min(backoffMs * 2, 2000);
        readNow = true;
      }
    }
  }
}
