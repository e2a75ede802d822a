// Latest-value-wins throttling of one camera's stream (PROTOCOL.md section 6): the first
// update after a quiet period goes out at once (leading edge); while the rate is exhausted
// only the newest update is kept, and it goes out as soon as a token is back (trailing
// edge); an update older than one already sent is dropped.
//
// The rule is implemented once, in CoalescingLane (one camera's state, plain callbacks, no
// subscription of its own), and offered as an RxJS operator for one stream (coalesceLatest)
// and, in src/pipeline/graph.ts, for many cameras at once. A lane says when it owes nothing
// any more (`onIdle`), so that per-camera state can be released.
import { Observable, type MonoTypeOperatorFunction, type SchedulerLike, asyncScheduler, type Subscription } from 'rxjs';
import { RateLimiter } from '../util/rate-limiter.js';

export interface Sequenced {
  seq: number;
}

export interface CoalesceOptions {
  /** Most updates per second passed on (the rate of PROTOCOL.md 6). */
  ratePerSecond: number;
  /** Token bucket size: updates passed at once after a quiet period. */
  burst: number;
  /** Clock and timers; asyncScheduler by default (a TestScheduler in tests). */
  scheduler?: SchedulerLike;
  /** Called with each update replaced by a newer one before it was sent. */
  onCoalesced?: (dropped: number) => void;
}

/**
 * One stream's coalescing state: the rate limiter, the newest seq sent, the update waiting
 * for a token and its timer.
 *
 * `onIdle` (optional) is called once the lane owes nothing: no update waits, and its rate
 * limiter has had RateLimiter.fillMs (scheduler time) since the last update went out, so it
 * is full again. A new lane would then pass the next update exactly as this one would (rule
 * 4), so the owner may dispose of it. It is called again after later updates, once idle
 * again. One idle timer at most, re-armed when it fires early: a steady stream costs one
 * check per fill time, not one per update.
 */
export class CoalescingLane<T extends Sequenced> {
  private readonly scheduler: SchedulerLike;
  private readonly bucket: RateLimiter;
  private lastSeq = -Infinity;
  private pending: T | null = null;
  private timer: Subscription | null = null;
  /** When the rate limiter last let an update through (scheduler time, ms). */
  private passedAt = -Infinity;
  private idleTimer: Subscription | null = null;
  /** Set by complete(): called once nothing is pending any more. */
  private done: (() => void) | null = null;

  constructor(
    private readonly options: CoalesceOptions,
    private readonly emit: (value: T) => void,
    private readonly onIdle?: () => void,
  ) {
    this.scheduler = options.scheduler ?? asyncScheduler;
    this.bucket = new RateLimiter(options.ratePerSecond, options.burst, this.scheduler.now());
  }

  /** An update: sent now, kept as the newest pending one, or dropped if not newer. */
  next(value: T): void {
    if (value.seq <= this.lastSeq || (this.pending !== null && value.seq <= this.pending.seq)) return;
    if (this.pending === null && this.bucket.take(this.scheduler.now())) {
      this.send(value);
      return;
    }
    if (this.pending !== null) this.options.onCoalesced?.(1);
    this.pending = value;
    this.schedule();
  }

  /** No more updates: the pending one (never lost) goes out when the rate allows, then `done`. */
  complete(done: () => void): void {
    this.done = done;
    if (this.pending === null) this.finish();
  }

  /** Cancels the lane's timers; it sends nothing more. */
  dispose(): void {
    this.timer?.unsubscribe();
    this.timer = null;
    this.idleTimer?.unsubscribe();
    this.idleTimer = null;
    this.pending = null;
  }

  private send(value: T): void {
    this.lastSeq = value.seq;
    this.passedAt = this.scheduler.now();
    if (this.onIdle !== undefined && this.idleTimer === null && this.done === null) {
      this.idleTimer = this.scheduler.schedule(this.checkIdle, this.bucket.fillMs);
    }
    this.emit(value);
  }

  private schedule(): void {
    if (this.timer === null) this.timer = this.scheduler.schedule(this.flushPending, this.bucket.msUntilPass(this.scheduler.now()));
  }

  private readonly flushPending = (): void => {
    this.timer = null;
    const value = this.pending;
    if (value === null) return;
    if (!this.bucket.take(this.scheduler.now())) {
      this.schedule();
      return;
    }
    this.pending = null;
    this.send(value);
    if (this.done !== null) this.finish();
  };

  private readonly checkIdle = (): void => {
    this.idleTimer = null;
    if (this.pending !== null || this.done !== null) return; // the trailing edge arms it again
    const wait = this.passedAt + this.bucket.fillMs - this.scheduler.now();
    if (wait > 0) this.idleTimer = this.scheduler.schedule(this.checkIdle, wait);
    else this.onIdle!();
  };

  private finish(): void {
    const done = this.done!;
    this.dispose();
    done();
  }
}

/** Latest-value-wins throttling of one stream of sequenced updates, as an RxJS operator (see CoalescingLane). */
export function coalesceLatest<T extends Sequenced>(options: CoalesceOptions & { onIdle?: () => void }): MonoTypeOperatorFunction<T> {
  return (source) =>
    new Observable<T>((subscriber) => {
      const lane = new CoalescingLane<T>(options, (value) => subscriber.next(value), options.onIdle);
      const subscription = source.subscribe({
        next: (value) => lane.next(value),
        error: (error) => subscriber.error(error),
        complete: () => lane.complete(() => subscriber.complete()),
      });
      return () => {
        subscription.unsubscribe();
        lane.dispose();
      };
    });
}
