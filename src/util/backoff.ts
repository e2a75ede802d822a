// Retry delays, the one implementation for the service and the client library: exponential
// growth up to a ceiling, with jitter so that many clients cut off by the same server restart
// do not all come back in the same millisecond (the service's own retries use no jitter).
// The browser loads this file too (/util/backoff.js, src/server/assets.ts): no Node imports.

/** How delays grow; every field has a default (DEFAULT_BACKOFF). */
export interface BackoffOptions {
  /** Delay before the first retry, in ms. */
  initialDelayMs?: number;
  /** No delay grows beyond this, in ms. */
  maxDelayMs?: number;
  /** Growth per failed attempt. */
  factor?: number;
  /** Share of each delay that is random: 0 (none) to 1 (anywhere from 0 to the delay). */
  jitter?: number;
}

/** 250 ms first, doubling up to 10 s, each delay cut by up to half at random. */
export const DEFAULT_BACKOFF: Required<BackoffOptions> = {
  initialDelayMs: 250,
  maxDelayMs: 10_000,
  factor: 2,
  jitter: 0.5,
};

/**
 * Delays (ms) before successive retries: attempt n (from 0) waits
 * `min(maxDelayMs, initialDelayMs × factor^n) × (1 − jitter × random())` ms, rounded;
 * `random` returns a number in [0, 1) (Math.random; tests inject their own). `next()` counts
 * failures itself; `delayAfter` is the same rule for a count kept elsewhere (ioredis's
 * attempt number, seconds failing).
 */
export class Backoff {
  private readonly options: Required<BackoffOptions>;
  private failures = 0;

  constructor(
    options: BackoffOptions = {},
    private readonly random: () => number = Math.random,
  ) {
    this.options = { ...DEFAULT_BACKOFF, ...options };
  }

  /** Failed attempts since the last success. */
  get attempts(): number {
    return this.failures;
  }

  /** The delay before the next attempt; each call counts one more failure. */
  next(): number {
    return this.delayAfter(this.failures++);
  }

  /** The delay (ms) after `failures` failed attempts (0: before the first retry); counts nothing. */
  delayAfter(failures: number): number {
    const { initialDelayMs, maxDelayMs, factor, jitter } = this.options;
    const ceiling = Math.min(maxDelayMs, initialDelayMs * factor ** failures);
    return Math.round(ceiling * (1 - jitter * this.random()));
  }

  /** A success: the next delay is the first one again. */
  reset(): void {
    this.failures = 0;
  }
}
