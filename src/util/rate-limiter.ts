// The rate limit of docs/protocol.md section 6, kept on average without losing updates to jitter.
//
// One token bucket cannot do both. A bucket of a small burst refilled at exactly the rate
// remembers the worst delay it has seen: after one late arrival (a garbage collection, a long
// write loop) every later update at the same rate finds it a little short and waits for a
// token, so a stall once turns into added latency for good. Two buckets, as traffic policers
// do it (a peak and a sustained rate):
//   - a short one of `burst` tokens refilled a little faster than the rate (JITTER_ALLOWANCE),
//     which lets the first update after a quiet period through at once and forgets delays;
//   - a long one holding a quarter of a second of updates, refilled at exactly the rate,
//     which keeps the average: under a flood, the rate is max_hz, not more.
import { TokenBucket } from './token-bucket.js';

/** How much faster than the rate the short bucket refills: the share of a period forgiven per period. */
export const JITTER_ALLOWANCE = 0.1;
/** The long bucket holds this much time's worth of updates, in seconds (at least `burst`). */
const SUSTAINED_WINDOW_S = 0.25;

/**
 * Latest-wins rate limit of one client and camera (docs/protocol.md section 6, rules 4 and 5):
 * lets updates pass at `ratePerSecond` on average, the first after a quiet period at once,
 * without a late arrival delaying every later one (two token buckets, see above). Times are
 * ms on the caller's clock (the scheduler's in the stream graph, virtual time in tests).
 */
export class RateLimiter {
  private readonly short: TokenBucket;
  private readonly sustained: TokenBucket;

  /**
   * `ratePerSecond`: the client's max_hz (> 0); `burst`: updates that may pass back to back
   * after a quiet period (>= 1); `now`: creation time in ms. Throws RangeError (from
   * TokenBucket) when the rate is not > 0 or the burst not >= 1.
   */
  constructor(ratePerSecond: number, burst: number, now: number) {
    this.short = new TokenBucket(ratePerSecond * (1 + JITTER_ALLOWANCE), burst, now);
    this.sustained = new TokenBucket(ratePerSecond, Math.max(burst, Math.ceil(ratePerSecond * SUSTAINED_WINDOW_S)), now);
  }

  /** Lets one update pass at `now` (ms) if both buckets allow it: true when it passed (a token of each spent). */
  take(now: number): boolean {
    if (!this.short.has(now) || !this.sustained.has(now)) return false;
    this.short.take(now);
    this.sustained.take(now);
    return true;
  }

  /**
   * Milliseconds after its last pass when both buckets are full again, whatever they held:
   * from then on this limiter behaves exactly as a new one, so a caller may drop it and
   * make a new one on the next update (idle per-camera state is released this way).
   */
  get fillMs(): number {
    return Math.max(this.short.fillMs, this.sustained.fillMs);
  }

  /** Milliseconds from `now` (ms) until an update may pass, rounded up (0 when one may now). */
  msUntilPass(now: number): number {
    return Math.max(this.short.msUntilToken(now), this.sustained.msUntilToken(now));
  }
}
