// Keeps the snapshot following the store: a camera whose rows are all gone (a DELETE by
// another process; retention itself always keeps each camera's latest row) is forgotten, so
// that a new client is not sent the state of a camera the store no longer has.
//
// Every SWEEP_INTERVAL_MS the known cameras are looked up in the store by the worker pool
// (one probe of the (camera, id) index each, never on the main thread), SWEEP_CHUNK at a
// time, one task after the other so that producers' writes on the same worker wait for at
// most one chunk. A camera is forgotten only if its state is still the one it had when it
// was looked up: a newer row read meanwhile means the camera is back.
import type { CameraStates } from './camera-states.js';

/** How often the known cameras are checked against the store (ms). */
const SWEEP_INTERVAL_MS = 5_000;
/** Cameras looked up per worker task (a few ms of index probes), one task at a time. */
export const SWEEP_CHUNK = 2_000;

/** What the sweep asks of the store (StorePool in service): lookups run in a worker. */
export interface CameraSweepStore {
  /**
   * Which of `cameras` have no row in the store any more (at most SWEEP_CHUNK ids per call).
   * A rejection (store unreadable) is passed to `CameraSweepHooks.failed`.
   */
  camerasWithoutRows(cameras: string[]): Promise<string[]>;
}

/** Who hears what a sweep did (the node logs both, `failed` rate-limited). */
export interface CameraSweepHooks {
  /** A sweep forgot `count` cameras (> 0). */
  forgotten(count: number): void;
  /** A lookup failed (the store is unreadable, say); the next sweep tries again. */
  failed(error: unknown): void;
}

/**
 * Forgets, from `states`, cameras whose rows are all gone from the store, every `intervalMs`
 * (default SWEEP_INTERVAL_MS, 5 s). The node runs it only without --redis: with the Redis bus
 * the snapshot holds other nodes' cameras, which this node's store does not have.
 */
export class CameraSweep {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<unknown> | null = null;
  private stopped = false;

  constructor(
    private readonly store: CameraSweepStore,
    private readonly states: CameraStates,
    private readonly hooks: CameraSweepHooks,
    private readonly intervalMs = SWEEP_INTERVAL_MS,
  ) {}

  /** Sweeps every `intervalMs` until stop(); a sweep still running when the next is due is not doubled. */
  start(): void {
    if (this.timer !== null || this.stopped) return;
    this.timer = setInterval(() => {
      if (this.running === null) this.running = this.sweep().finally(() => (this.running = null));
    }, this.intervalMs);
    this.timer.unref();
  }

  /** Looks every known camera up once; resolves with how many were forgotten. Never rejects. */
  async sweep(): Promise<number> {
    // The list is taken now: cameras that arrive during the sweep are checked next time.
    const known = [...this.states.seqs()];
    let forgotten = 0;
    try {
      for (let start = 0; start < known.length && !this.stopped; start += SWEEP_CHUNK) {
        const chunk = known.slice(start, start + SWEEP_CHUNK);
        const seqOf = new Map(chunk);
        const missing = await this.store.camerasWithoutRows(chunk.map(([camera]) => camera));
        for (const camera of missing) if (this.states.forget(camera, seqOf.get(camera)!)) forgotten++;
      }
    } catch (error) {
      this.hooks.failed(error);
    }
    if (forgotten > 0) this.hooks.forgotten(forgotten);
    return forgotten;
  }

  /** Stops sweeping and waits for a sweep in progress to end (it stops after its current chunk). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }
}
