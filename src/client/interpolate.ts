// Smooth camera motion between updates. Each update says where the camera is and where it is
// heading (target_*); between updates the drawn camera glides from the state toward the
// target, and eases out of its previous position instead of jumping when an update lands.

/** A camera position in world units and its zoom (> 0), as in a camera_update. */
export interface CameraPose {
  x: number;
  y: number;
  zoom: number;
}

/** The fields of a camera_update that motion depends on. */
export interface CameraMotion extends CameraPose {
  target_x: number;
  target_y: number;
  target_zoom: number;
}

/** Smoothing settings of CameraInterpolator, in ms. */
export interface InterpolatorOptions {
  /** How long a state takes to reach its target (the producer's look-ahead). */
  leadMs?: number;
  /** Time constant of the easing toward the moving goal: smaller follows more tightly. */
  smoothingMs?: number;
}

/**
 * Linear in position; geometric in zoom, so that zooming from 1 to 4 passes 2 halfway, as
 * the eye expects.
 */
export function lerpPose(from: CameraPose, to: CameraPose, t: number): CameraPose {
  return {
    x: from.x + (to.x - from.x) * t,
    y: from.y + (to.y - from.y) * t,
    zoom: from.zoom * (to.zoom / from.zoom) ** t,
  };
}

/** Where a camera state has moved `elapsedMs` after it was recorded, heading to its target. */
export function poseToward(motion: CameraMotion, elapsedMs: number, leadMs: number): CameraPose {
  const t = leadMs <= 0 ? 1 : Math.min(1, Math.max(0, elapsedMs / leadMs));
  return lerpPose(motion, { x: motion.target_x, y: motion.target_y, zoom: motion.target_zoom }, t);
}

/**
 * The pose to draw, frame by frame, for one camera's updates: each state glides toward its
 * target over `leadMs` (default 250 ms), and the drawn pose eases toward that goal with time
 * constant `smoothingMs` (default 80 ms). Times are a client clock in ms (e.g. performance.now()).
 */
export class CameraInterpolator {
  private readonly leadMs: number;
  private readonly smoothingMs: number;
  private motion: CameraMotion | null = null;
  private receivedAt = 0;
  private shown: CameraPose | null = null;
  private shownAt = 0;

  constructor(options: InterpolatorOptions = {}) {
    this.leadMs = options.leadMs ?? 250;
    this.smoothingMs = options.smoothingMs ?? 80;
  }

  /** A new state arrived at `now` (a client clock, not the producer's timestamp). */
  push(motion: CameraMotion, now: number): void {
    this.motion = { x: motion.x, y: motion.y, zoom: motion.zoom, target_x: motion.target_x, target_y: motion.target_y, target_zoom: motion.target_zoom };
    this.receivedAt = now;
    if (this.shown === null) {
      this.shown = { x: motion.x, y: motion.y, zoom: motion.zoom };
      this.shownAt = now;
    }
  }

  /** Where the camera is heading at `now`, before easing. */
  goal(now: number): CameraPose | null {
    return this.motion === null ? null : poseToward(this.motion, now - this.receivedAt, this.leadMs);
  }

  /** The pose to draw at `now`; call once per frame. Null until the first state. */
  sample(now: number): CameraPose | null {
    const goal = this.goal(now);
    if (goal === null || this.shown === null) return null;
    const dt = Math.max(0, now - this.shownAt);
    const t = this.smoothingMs <= 0 ? 1 : 1 - Math.exp(-dt / this.smoothingMs);
    this.shown = lerpPose(this.shown, goal, t);
    this.shownAt = now;
    return this.shown;
  }

  /** Forget everything, e.g. when another camera is chosen. */
  clear(): void {
    this.motion = null;
    this.shown = null;
  }
}
