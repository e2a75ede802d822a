// A stand-in compositor: a smooth camera path (a slow orbit with a breathing zoom) sampled at
// a fixed rate. Used by `wirecam simulate` (another process writing the store) and `--demo`.
import type { CameraInput } from '../protocol/messages.js';

const ORBIT_RADIUS = 400;
const ORBIT_PERIOD_S = 20;
const ZOOM_PERIOD_S = 7;
/** The target is where the camera will be this far ahead: what a client interpolates toward. */
const LOOKAHEAD_S = 0.25;

function positionAt(seconds: number): { x: number; y: number; zoom: number } {
  const angle = (2 * Math.PI * seconds) / ORBIT_PERIOD_S;
  return {
    x: ORBIT_RADIUS * Math.cos(angle),
    y: ORBIT_RADIUS * Math.sin(angle) * 0.6,
    zoom: 1 + 0.5 * Math.sin((2 * Math.PI * seconds) / ZOOM_PERIOD_S),
  };
}

/**
 * The state of `camera` at `seconds` into the path: an ellipse of 400 × 240 world units
 * around the origin, once every 20 s, zoom breathing between 0.5 and 1.5 every 7 s; the
 * target is where it will be 0.25 s later. `timestamp`: ms since the Unix epoch, as given.
 */
export function cameraAt(camera: string, seconds: number, timestamp: number): CameraInput {
  const now = positionAt(seconds);
  const ahead = positionAt(seconds + LOOKAHEAD_S);
  return { camera, ...now, target_x: ahead.x, target_y: ahead.y, target_zoom: ahead.zoom, timestamp };
}

/** A running path (runPath). */
export interface PathRunner {
  /** Stops writing; `done` resolves. */
  stop(): void;
  /** Resolves when the run ends (duration reached or stopped), with the number of states written. */
  done: Promise<number>;
}

/**
 * Calls `write` at `rate` per second (Hz), on an absolute schedule so the average rate is exact
 * whatever the timer jitter (above 1 kHz in bursts of up to 1000); stops after `durationS`
 * seconds (0: never) or on stop(). The first state is written before runPath returns.
 */
export function runPath(camera: string, rate: number, durationS: number, write: (state: CameraInput) => void): PathRunner {
  const periodMs = 1000 / rate;
  const start = Date.now();
  let written = 0;
  let timer: NodeJS.Timeout | null = null;
  let finish!: (count: number) => void;
  const done = new Promise<number>((resolve) => (finish = resolve));
  const stop = () => {
    if (timer !== null) clearTimeout(timer);
    timer = null;
    finish(written);
  };
  const tick = () => {
    const now = Date.now();
    const elapsedS = (now - start) / 1000;
    if (durationS > 0 && elapsedS >= durationS) return stop();
    // Timers fire no more often than every millisecond: above 1 kHz, catch up in one go.
    for (let burst = 0; burst < 1000 && start + written * periodMs <= now; burst++) {
      write(cameraAt(camera, elapsedS, now));
      written++;
    }
    const next = start + written * periodMs;
    timer = setTimeout(tick, Math.max(0, next - Date.now()));
  };
  tick();
  return { stop, done };
}
