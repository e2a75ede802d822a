// The latest-wins gate of one camera (docs/protocol.md section 6), written once and used by every
// place that throttles camera states: the stream graph's per-camera gates and each throttled
// audience group's (src/pipeline/gate-table.ts keeps one per camera).
//
// The rule: the first update after a quiet period goes out at once (leading edge, rule 4);
// while the rate is spent only the newest update is kept, and it goes out as soon as a token
// is back (trailing edge, rules 2 and 3); an update not newer (by seq) than one already
// accepted is dropped (rule 1); updates that come no faster than the rate all pass (rule 5,
// the two-bucket RateLimiter).
//
// The gate is pure: no timers, no clock of its own. Every call is given the time (`now`, ms
// on the caller's clock: a scheduler's virtual time in tests, Date.now in service), and the
// gate says when it wants to be asked again (`wakeAt`). Whoever owns it sets the one timer.
import { RateLimiter } from '../util/rate-limiter.js';

/** A value ordered by `seq`: a higher seq is a newer state (docs/protocol.md section 6, rule 1). */
export interface Sequenced {
  seq: number;
}

/** The rate a gate enforces. */
export interface GateOptions {
  /** Most updates per second passed on, on average (the `max_hz` of docs/protocol.md section 6); > 0. */
  ratePerSecond: number;
  /** Updates passed at once after a quiet period (the token bucket's size); >= 1. */
  burst: number;
}

/**
 * What a gate did with an offered update:
 * - `pass`: it goes out now (the caller sends it);
 * - `held`: it waits for a token (nothing was waiting before);
 * - `replaced`: it waits for a token in place of an older waiting update, which is dropped
 *   (one coalesced state);
 * - `stale`: dropped, not newer than an update already accepted.
 */
export type GateVerdict = 'pass' | 'held' | 'replaced' | 'stale';

/**
 * One camera's latest-wins gate. Holds at most one waiting update.
 *
 * A gate with nothing waiting whose rate limiter has had RateLimiter.fillMs since its last pass
 * is idle (`isIdle`): a new gate would then pass the next update exactly as this one would, so
 * its owner may drop it (the only thing it forgets is the newest seq it accepted).
 *
 * @throws RangeError from the constructor when the rate is not > 0 or the burst not >= 1.
 */
export class LatestGate<T extends Sequenced> {
  private readonly limiter: RateLimiter;
  /** The newest seq accepted (sent or waiting); an offer must be above it. */
  private newestSeq = -Infinity;
  private waiting: T | null = null;
  /** When the limiter last let an update through (ms, caller's clock); creation time at first. */
  private passedAt: number;

  /** `now`: the caller's clock (ms) at creation. */
  constructor(options: GateOptions, now: number) {
    this.limiter = new RateLimiter(options.ratePerSecond, options.burst, now);
    this.passedAt = now;
  }

  /** The update waiting for a token, or null. */
  get pending(): T | null {
    return this.waiting;
  }

  /**
   * Offers an update at `now` (ms): see GateVerdict. On `pass` the caller sends `value` now;
   * on `held` it asks again at `wakeAt(now)`.
   */
  offer(value: T, now: number): GateVerdict {
    if (value.seq <= this.newestSeq) return 'stale';
    this.newestSeq = value.seq;
    if (this.waiting !== null) {
      this.waiting = value;
      return 'replaced';
    }
    if (this.limiter.take(now)) {
      this.passedAt = now;
      return 'pass';
    }
    this.waiting = value;
    return 'held';
  }

  /**
   * The waiting update if a token is back at `now` (it then counts as passed and no longer
   * waits), else null (nothing waits, or not yet: ask again at `wakeAt(now)`).
   */
  release(now: number): T | null {
    const value = this.waiting;
    if (value === null || !this.limiter.take(now)) return null;
    this.waiting = null;
    this.passedAt = now;
    return value;
  }

  /**
   * When (ms, the caller's clock) the gate wants to be asked again: with an update waiting,
   * when its token is back (`release`); otherwise when it becomes idle (`idleAt`).
   */
  wakeAt(now: number): number {
    return this.waiting !== null ? now + this.limiter.msUntilPass(now) : this.idleAt;
  }

  /** When the gate is idle if nothing more is offered: its last pass plus RateLimiter.fillMs (ms). */
  get idleAt(): number {
    return this.passedAt + this.limiter.fillMs;
  }

  /** Nothing waits and the rate limiter is full again at `now`: the gate owes nothing. */
  isIdle(now: number): boolean {
    return this.waiting === null && now >= this.idleAt;
  }
}
