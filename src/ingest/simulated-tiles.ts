// The demo's map: a tile now and then where the simulated camera passes (simulated-camera.ts),
// so a newcomer sees the map grow under the camera (`--demo`).
import type { TileInput } from '../protocol/messages.js';
import { cameraAt } from './simulated-camera.js';

/** World units per tile: the viewer draws a tile as a square this big. */
const DEMO_TILE_SIZE = 64;
const BRICKS = ['grass', 'stone', 'water', 'sand', 'brick'] as const;

/** The tile under the demo camera at `seconds` into its path. */
function tileAt(seconds: number, timestamp: number): TileInput {
  const { x, y } = cameraAt('main', seconds, timestamp);
  const tx = Math.floor(x / DEMO_TILE_SIZE);
  const ty = Math.floor(y / DEMO_TILE_SIZE);
  const brick = BRICKS[Math.abs(tx * 7 + ty * 13 + Math.floor(seconds / 20)) % BRICKS.length]!;
  return { x: tx, y: ty, brick, timestamp };
}

/**
 * Calls `write` every `everyMs` (ms) with the tile under the camera (camera `main`'s path,
 * 64 world units a tile), until the returned stop(). The timer does not keep the process alive.
 */
export function runTiles(everyMs: number, write: (tile: TileInput) => void): () => void {
  const start = Date.now();
  const timer = setInterval(() => {
    const now = Date.now();
    write(tileAt((now - start) / 1000, now));
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
