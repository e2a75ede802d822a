// One latest-wins gate per key (per camera), each held only while it owes something: the one
// container for per-camera throttling state, used by the stream graph (src/pipeline/coalesce.ts)
// and by each throttled audience group (src/fanout/group.ts).
//
// Pure like the gates it holds (src/pipeline/latest-gate.ts): no timers; every call is given
// the time, and says when (ms, the caller's clock) the table wants to be asked again. The
// owner keeps one timer for the whole table (src/pipeline/wakeup.ts), not one per camera.
//
// Bound: a gate is released once idle (nothing waiting, its rate limiter full again,
// RateLimiter.fillMs after its last pass), so a table holds the keys active within the last
// fill time (a quarter of a second at the defaults), not every key ever seen. A released key
// that comes back gets a new gate, which passes its next update exactly as the old one would
// (leading edge, full bucket). It does not know the old gate's newest seq unless the owner
// gives it (`floorOf`); without that, ordering across a quiet period relies on seqs only
// increasing at the source (wirecam's store assigns them, src/store/sequence-reset.ts keeps it
// so, and the hub's CameraStates drops older states).
import { LatestGate, type GateOptions, type Sequenced } from './latest-gate.js';

/** A GateTable's rate, and who hears what it lets through. */
export interface GateTableOptions<K, T extends Sequenced> extends GateOptions {
  /** Every update that goes out: a leading edge (from `offer`) or a trailing edge (from `release`). */
  emit: (value: T) => void;
  /** Called with 1 each time a waiting update is replaced by a newer one before it went out. */
  onCoalesced?: (count: number) => void;
  /** Told how many gates the table holds whenever one opens or is released. */
  onGates?: (open: number) => void;
  /** Told each key whose gate was released (idle: it owed nothing any more). */
  onReleased?: (key: K) => void;
  /**
   * The seq an update of `key` must be above when the key holds no gate (its gate was
   * released, or never opened); an update at or below it is dropped (rule 1). Default: none.
   */
  floorOf?: (key: K) => number;
}

/** Latest-wins gates by key (see the module comment); keys compared as Map keys. */
export class GateTable<K, T extends Sequenced> {
  /** Every gate, in the order they last let an update through (a pass moves a gate to the end). */
  private readonly gates = new Map<K, LatestGate<T>>();
  /** Gates with an update waiting, in the order it began to wait (trailing edges go out in this order). */
  private readonly waiting = new Map<K, LatestGate<T>>();

  /** @throws RangeError when the rate is not > 0 or the burst not >= 1. */
  constructor(private readonly options: GateTableOptions<K, T>) {
    new LatestGate<T>(options, 0); // validates the rate and burst now, not at the first offer
  }

  /** Keys holding a gate now. */
  get size(): number {
    return this.gates.size;
  }

  /** Keys with an update waiting for a token. */
  get waitingCount(): number {
    return this.waiting.size;
  }

  /** Keys holding a gate, least recently passed first. */
  keys(): IterableIterator<K> {
    return this.gates.keys();
  }

  /** Whether an update of `key` waits here for a token (not yet emitted). */
  holds(key: K): boolean {
    return this.waiting.has(key);
  }

  /**
   * Offers `value` under `key` at `now` (ms): emitted at once (leading edge), kept as the key's
   * newest waiting update, or dropped when not newer (GateVerdict). Returns when (ms) the table
   * must be asked again (`release`) for this offer, Infinity when this offer needs nothing new;
   * an owner with a timer set no later than that needs not touch it.
   */
  offer(key: K, value: T, now: number): number {
    let gate = this.gates.get(key);
    if (gate === undefined) {
      if (this.options.floorOf !== undefined && value.seq <= this.options.floorOf(key)) return Infinity;
      gate = new LatestGate<T>(this.options, now);
      this.gates.set(key, gate);
      this.options.onGates?.(this.gates.size);
    }
    switch (gate.offer(value, now)) {
      case 'pass':
        this.passed(key, gate);
        this.options.emit(value);
        return gate.idleAt;
      case 'held':
        this.waiting.set(key, gate);
        return gate.wakeAt(now);
      case 'replaced':
        this.options.onCoalesced?.(1);
        return Infinity;
      case 'stale':
        return Infinity;
    }
  }

  /**
   * At `now` (ms): emits every waiting update whose token is back (trailing edges, in the order
   * they began to wait), then releases the idle gates, least recently passed first. Returns
   * when (ms) the table wants to be asked again: Infinity once it holds no gate.
   */
  release(now: number): number {
    let next = Infinity;
    for (const [key, gate] of this.waiting) {
      const value = gate.release(now);
      if (value === null) {
        next = Math.min(next, gate.wakeAt(now));
        continue;
      }
      this.waiting.delete(key);
      this.passed(key, gate);
      this.options.emit(value);
    }
    for (const [key, gate] of this.gates) {
      if (gate.pending !== null) continue;
      if (!gate.isIdle(now)) {
        // Every later gate passed later, and all share one fill time: none is idle yet.
        next = Math.min(next, gate.idleAt);
        break;
      }
      this.gates.delete(key);
      this.options.onGates?.(this.gates.size);
      this.options.onReleased?.(key);
    }
    return next;
  }

  /** Drops every gate and waiting update; nothing more is emitted for them. */
  clear(): void {
    this.gates.clear();
    this.waiting.clear();
  }

  private passed(key: K, gate: LatestGate<T>): void {
    this.gates.delete(key);
    this.gates.set(key, gate);
  }
}
