// A token bucket: `burst` tokens at most, refilled at a steady rate; each pass spends one.
// Time is given by the caller (virtual time in tests, the scheduler's clock in the stream
// graph, Date.now in the hub).

/** Tolerance for floating-point refill arithmetic: 1/60 s is not exact in binary. */
const EPSILON = 1e-9;

export class TokenBucket {
  private tokens: number;
  private updatedAt: number;
  private readonly perMs: number;

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

  /** Whether a token is available now (nothing is spent). */
  has(now: number): boolean {
    this.refill(now);
    return this.tokens + EPSILON >= 1;
  }

  /** Spends a token if one is available. */
  take(now: number): boolean {
    if (!this.has(now)) return false;
    this.tokens = Math.max(0, this.tokens - 1);
    return true;
  }

  /** Milliseconds until a token is available (0 when one is). */
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
