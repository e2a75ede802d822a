// Seq-based discarding of stale updates. Within one connection the server already sends
// each camera's states in increasing seq order; across reconnections a snapshot may repeat
// a state the client has, and that repeat must not move the camera back.

/** The verdict of SeqFilter.admit. */
export type Freshness = 'fresh' | 'stale' | 'reset';

/**
 * Last seq seen per key (a camera id, or one key for tiles), across connections. One entry per
 * key ever seen: bounded by the number of cameras subscribed to.
 */
export class SeqFilter {
  private readonly last = new Map<string, number>();
  private readonly seenOnConnection = new Set<string>();

  /** A new connection begins: its first update per key is the server's newest state. */
  newConnection(): void {
    this.seenOnConnection.clear();
  }

  /**
   * `fresh`: newer than anything seen; `stale`: not newer, to be discarded; `reset`: the
   * first update of a connection is older than what we had, which only happens when the
   * server's store was replaced (seqs are never reused otherwise), so the new one counts.
   */
  admit(key: string, seq: number): Freshness {
    const previous = this.last.get(key);
    const first = !this.seenOnConnection.has(key);
    this.seenOnConnection.add(key);
    if (previous === undefined || seq > previous) {
      this.last.set(key, seq);
      return 'fresh';
    }
    if (first && seq < previous) {
      this.last.set(key, seq);
      return 'reset';
    }
    return 'stale';
  }

  /** The newest seq admitted for `key`, or undefined when none was. */
  lastSeq(key: string): number | undefined {
    return this.last.get(key);
  }
}
