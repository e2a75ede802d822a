// Live figures over a sliding time window: how many updates per second, and how late they
// arrive. Used by the viewer page and by `wirecam top`; no dependency, any environment.

/** Events per second over the last `windowMs`. */
export class RateMeter {
  private times: number[] = [];
  private head = 0;

  constructor(private readonly windowMs = 2000) {}

  /** `count` events at `now` (ms, the same clock as `rate`). Kept until they leave the window. */
  record(now: number, count = 1): void {
    for (let i = 0; i < count; i++) this.times.push(now);
  }

  /**
   * `since`: when counting began, if less than a window ago; without it a young meter
   * would under-report by averaging over time it did not watch.
   */
  rate(now: number, since?: number): number {
    this.expire(now);
    const span = since === undefined ? this.windowMs : Math.min(this.windowMs, Math.max(1, now - since));
    return ((this.times.length - this.head) * 1000) / span;
  }

  private expire(now: number): void {
    const oldest = now - this.windowMs;
    while (this.head < this.times.length && this.times[this.head]! <= oldest) this.head++;
    // Compact now and then rather than shifting on every expiry.
    if (this.head > 1024 && this.head * 2 > this.times.length) {
      this.times = this.times.slice(this.head);
      this.head = 0;
    }
  }
}

/** Latency samples (ms) of the last `windowMs`, with percentiles. */
export class LatencyWindow {
  private samples: Array<{ at: number; ms: number }> = [];
  private head = 0;

  constructor(private readonly windowMs = 5000) {}

  /** One latency sample of `ms` milliseconds, taken at `now` (ms, the same clock as the queries). */
  record(ms: number, now: number): void {
    this.samples.push({ at: now, ms });
  }

  /** Samples within the last `windowMs` before `now`. */
  count(now: number): number {
    this.expire(now);
    return this.samples.length - this.head;
  }

  /** The p-th percentile (0..100) by nearest rank, or null without samples. */
  percentile(p: number, now: number): number | null {
    return this.percentiles([p], now)[0] ?? null;
  }

  /**
   * The percentiles `ps` (each 0..100) of the window's samples by nearest rank, in ms; null
   * entries without samples. One sort for all of them.
   */
  percentiles(ps: readonly number[], now: number): Array<number | null> {
    this.expire(now);
    const sorted = this.samples.slice(this.head).map((s) => s.ms).sort((a, b) => a - b);
    return ps.map((p) => {
      if (sorted.length === 0) return null;
      const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
      return sorted[rank]!;
    });
  }

  private expire(now: number): void {
    const oldest = now - this.windowMs;
    while (this.head < this.samples.length && this.samples[this.head]!.at <= oldest) this.head++;
    if (this.head > 1024 && this.head * 2 > this.samples.length) {
      this.samples = this.samples.slice(this.head);
      this.head = 0;
    }
  }
}
