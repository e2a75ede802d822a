// The latest state of every known camera: the snapshot a new client is sent (docs/protocol.md
// section 4) and the reference that keeps each camera's states in seq order (section 6,
// rule 1). One owner for it, with a bound: at most `maxCameras` cameras; past it the least
// recently updated camera is forgotten (counted, and said in a log line at most once per
// interval). A camera whose rows are all gone from the store is forgotten too
// (src/fanout/camera-sweep.ts asks the store and calls forget()).
//
// The map's insertion order is the order of last update: an update moves its camera to the
// end, so the first entry is always the least recently updated one. Eviction reads it with
// one long-lived iterator: a Map iterator skips entries deleted before it reaches them and
// visits entries added meanwhile (ECMAScript, Map.prototype.keys), so everything behind it is
// gone or moved to the end, and the next key it gives is the oldest. A new iterator per
// eviction would walk again over every deleted slot still in the table (measured: 10 us per
// eviction at 5,000 cameras, against under 1 us).
import { RateLimitedLog } from '../util/rate-limited-log.js';
import type { ReadyFrame } from '../protocol/ready-frame.js';

/**
 * Default of --max-cameras. A camera's state costs under 1 KB here (its frame in both
 * encodings) plus its per-camera entries in the graph and groups while active, so 10,000
 * cameras are a few MB; a deployment has a handful to a few hundred cameras, so this leaves
 * room for any real one while a flood of made-up ids (a bug, a hostile producer) stays small.
 */
export const DEFAULT_MAX_CAMERAS = 10_000;

/** Evictions past the cap are logged at most once per this many ms. */
export const EVICTION_LOG_INTERVAL_MS = 10_000;

/** Why a camera was forgotten: pushed out past the cap, or no longer in the store. */
export type ForgetReason = 'cap' | 'store';

/** The bound of a CameraStates, its clock, and who hears of evictions. */
export interface CameraStatesOptions {
  /** Most cameras kept (--max-cameras), at least 1. */
  maxCameras: number;
  /** Clock of the eviction log's rate limit (ms); Date.now by default. */
  now?: () => number;
  /**
   * Told when a camera is forgotten past the cap, at most once per EVICTION_LOG_INTERVAL_MS:
   * `count` is how many were forgotten since the last call (this one included).
   */
  onEvicted?: (camera: string, count: number) => void;
}

const asIs = (frame: ReadyFrame): ReadyFrame => frame;

/**
 * Latest frame per camera, in order of last update, at most `maxCameras` of them (see the
 * module comment). Only frames with a higher seq than the one known are kept (docs/protocol.md
 * section 6, rule 1).
 */
export class CameraStates {
  private readonly states = new Map<string, ReadyFrame>();
  private oldest: IterableIterator<string> = this.states.keys();
  private readonly log: RateLimitedLog;
  /** Cameras forgotten since start, by reason (for wirecam_cameras_forgotten_total). */
  readonly forgotten: Record<ForgetReason, number> = { cap: 0, store: 0 };

  /** @throws RangeError when `maxCameras` is not an integer of at least 1. */
  constructor(private readonly options: CameraStatesOptions) {
    if (!Number.isInteger(options.maxCameras) || options.maxCameras < 1) throw new RangeError('maxCameras must be an integer >= 1');
    this.log = new RateLimitedLog(EVICTION_LOG_INTERVAL_MS, options.now);
  }

  /** Cameras known now (at most maxCameras). */
  get size(): number {
    return this.states.size;
  }

  /** The cap on cameras kept (--max-cameras). */
  get maxCameras(): number {
    return this.options.maxCameras;
  }

  /** The latest frame of `camera` (both encodings and legacy), or undefined when not known. */
  get(camera: string): ReadyFrame | undefined {
    return this.states.get(camera);
  }

  /** Known cameras, least recently updated first. */
  keys(): IterableIterator<string> {
    return this.states.keys();
  }

  /** Known cameras with the seq of their state, least recently updated first. */
  *seqs(): IterableIterator<[camera: string, seq: number]> {
    for (const [camera, frame] of this.states) yield [camera, frame.seq];
  }

  /**
   * Keeps `frame` as its camera's state when it is newer (a higher seq) than the one known;
   * false (and nothing changes) when it is not. A camera new past the cap pushes out the
   * least recently updated one. `keep` gives what is stored, called only when the frame is
   * newer (the hub passes one that copies a frame into bytes of its own); the frame itself
   * by default.
   */
  remember(frame: ReadyFrame, keep: (frame: ReadyFrame) => ReadyFrame = asIs): boolean {
    const camera = frame.camera;
    const known = this.states.get(camera);
    if (known !== undefined) {
      if (known.seq >= frame.seq) return false;
      this.states.delete(camera);
    } else if (this.states.size >= this.options.maxCameras) {
      this.evictOldest();
    }
    this.states.set(camera, keep(frame));
    return true;
  }

  /**
   * Forgets a camera the store no longer has, if its state is still the one of `seq` (a
   * newer state arrived after the store was asked: the camera is back, keep it). True when
   * it was forgotten.
   */
  forget(camera: string, seq: number): boolean {
    const known = this.states.get(camera);
    if (known === undefined || known.seq !== seq) return false;
    this.states.delete(camera);
    this.forgotten.store++;
    return true;
  }

  /**
   * Forgets every camera not in `keep` (the store no longer has it: a restore removed its
   * rows); counted as reason `store`. Returns how many were forgotten.
   */
  retainOnly(keep: ReadonlySet<string>): number {
    let forgotten = 0;
    for (const camera of [...this.states.keys()]) {
      if (keep.has(camera)) continue;
      this.states.delete(camera);
      forgotten++;
    }
    this.forgotten.store += forgotten;
    return forgotten;
  }

  private evictOldest(): void {
    let oldest = this.oldest.next();
    if (oldest.done === true) {
      // An iterator that has reached the end stays there: start a new one.
      this.oldest = this.states.keys();
      oldest = this.oldest.next();
      if (oldest.done === true) return;
    }
    this.states.delete(oldest.value);
    this.forgotten.cap++;
    const count = this.log.admit('evicted');
    if (count > 0) this.options.onEvicted?.(oldest.value, count);
  }
}
