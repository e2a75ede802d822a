// Repeated log lines (a rejected row, a failed write, a slow consumer) at most once per
// interval per key, each standing for the occurrences it summarizes.

/**
 * At most one line per key and interval (ms), with the number of occurrences it stands for.
 * Keys are a fixed set of names chosen by the callers (e.g. `reject:<reason>`), so the map
 * of keys stays small.
 */
export class RateLimitedLog {
  private readonly last = new Map<string, { at: number; suppressed: number }>();

  constructor(
    private readonly intervalMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Returns how many occurrences this line stands for, or 0 when it must be skipped. */
  admit(key: string): number {
    const now = this.now();
    const entry = this.last.get(key);
    if (entry !== undefined && now - entry.at < this.intervalMs) {
      entry.suppressed++;
      return 0;
    }
    const count = (entry?.suppressed ?? 0) + 1;
    this.last.set(key, { at: now, suppressed: 0 });
    return count;
  }
}
