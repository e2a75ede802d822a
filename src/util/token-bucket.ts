// A token bucket: `burst` tokens at most, refilled at a steady rate; each pass spends one.
// Time is given by the caller (virtual time in tests, the scheduler's clock in the stream
// graph, Date.now in the hub).

/** Tolerance for floating-point refill arithmetic: 1/60 s is not exact in binary. */
const EPSILON = 1e-9;

/**
 * A token bucket of `burst` tokens, full at creation, refilled continuously at
 * `ratePerSecond` tokens per second up to `burst`; each pass spends one token. Every `now`
 * is a time in ms on the caller's clock (any origin, never going back). Used for the
 * producer flood limit (`--max-producer-rate`, error `rate_limited`: docs/protocol.md section 4.6)
 * and, twice, inside RateLimiter (docs/protocol.md section 6).
 */
export class TokenBucket {
  private tokens: number;
  private updatedAt: number;
  private readonly perMs: number;

  /**
   * `ratePerSecond`: tokens added per second (> 0, fractions allowed); `burst`: capacity in
   * tokens (>= 1, also the tokens it starts with); `now`: the creation time, in ms.
   * Throws RangeError when the rate is not > 0 or the burst not >= 1 (NaN included).
   */
  constructor(
    ratePerSecond: number,
    private readonly burst: number,
    now: number,
  ) {
    if (!(ratePerSecond > 0)) throw new RangeError('rate must be > 0');
    if (!(burst >= 1)) throw new RangeError('burst must be >= 1');
    this.perMs = ratePerSecond / 1000;
    this.tokens = burst;
    this.updatedAt = now;
  }

  private refill(now: number): void {
    if (now > this.updatedAt) {
      this.tokens = Math.min(this.burst, this.tokens + (now - this.updatedAt) * this.perMs);
      this.updatedAt = now;
    }
  }

  /** Whether a token is available at `now` (ms); nothing is spent. */
  has(now: number): boolean {
    this.refill(now);
    return this.tokens + EPSILON >= 1;
  }

  /** Spends a token if one is available at `now` (ms): true when it did (the pass is allowed). */
  take(now: number): boolean {
    if (!this.has(now)) return false;
    this.tokens = Math.max(0, this.tokens - 1);
    return true;
  }

  /** Milliseconds from `now` (ms) until a token is available, rounded up (0 when one is). */
  msUntilToken(now: number): number {
    this.refill(now);
    const missing = 1 - this.tokens;
    return missing <= EPSILON ? 0 : Math.ceil(missing / this.perMs - EPSILON);
  }

  /**
   * Milliseconds an empty bucket takes to be full again (whole ms, rounded up): a bucket
   * that passed nothing for this long since its last pass holds `burst` tokens, exactly as
   * a new one would.
   */
  get fillMs(): number {
    return Math.ceil(this.burst / this.perMs - EPSILON);
  }
}
