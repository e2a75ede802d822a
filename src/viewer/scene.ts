// Draws one camera on a world grid: its viewport (the part of the map it shows, smaller as
// it zooms in), where it is heading as a ghost, and a short trail. The view fits itself to
// everything the camera has visited, and only grows, so the grid does not swim.
import type { CameraPose } from '../client/index.js';

/** The world area a camera shows at zoom 1, in world units. */
export interface ViewportSize {
  width: number;
  height: number;
}

/**
 * What one animation frame draws: `label` (the camera id), poses in world units, `trail` oldest
 * first, and optionally the map's tiles (`tileSize` world units a side, default 64).
 */
export interface SceneFrame {
  label: string;
  /** The interpolated pose to draw, or null before the first state. */
  pose: CameraPose | null;
  /** Where the camera is heading (drawn as a ghost). */
  target: CameraPose | null;
  trail: readonly CameraPose[];
  /** The map under the camera: tiles by grid coordinate, drawn as squares of `tileSize` world units. */
  tiles?: Iterable<MapTile>;
  tileSize?: number;
}

/** One tile of the map as the scene draws it. */
export interface MapTile {
  x: number;
  y: number;
  brick: string;
}

/** A stable colour per brick name: the same texture always looks the same. */
function brickColor(brick: string): string {
  let hash = 0;
  for (let i = 0; i < brick.length; i++) hash = (hash * 31 + brick.charCodeAt(i)) | 0;
  return `hsla(${Math.abs(hash) % 360}, 45%, 38%, 0.85)`;
}

/** Where the camera was drawn, for tests and tools that check the screen without reading pixels. */
export interface Drawn {
  /** The camera indicator's centre, in CSS pixels from the canvas's top-left corner. */
  screenX: number;
  screenY: number;
}

interface Bounds {
  minX: number;
  maxX: number;
  minY: number;
  maxY: number;
}

/** Colour of the camera's viewport outline, centre dot and label. */
const INDICATOR_COLOR = '#ffb000';
const COLORS = {
  background: '#0f1419',
  grid: '#1c2630',
  axis: '#3b4d5e',
  label: '#6f8193',
  viewportFill: 'rgba(255, 176, 0, 0.10)',
  trail: 'rgba(255, 176, 0, 0.35)',
  ghost: 'rgba(120, 200, 255, 0.75)',
  outline: '#0f1419',
};
const PADDING_PX = 28;

/** 1, 2 or 5 times a power of ten: the grid spacing nearest above `raw`. */
function niceStep(raw: number): number {
  const power = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 5, 10]) if (m * power >= raw) return m * power;
  return 10 * power;
}

/**
 * Draws one camera on a 2D canvas, sized to its CSS box and the screen's pixel ratio.
 * `viewport`: the world area the camera shows at zoom 1 (it shows `1 / zoom` of it).
 */
export class Scene {
  private bounds: Bounds | null = null;

  constructor(
    private readonly canvas: HTMLCanvasElement,
    private readonly viewport: ViewportSize,
  ) {}

  /** Forget the fitted area (another camera was chosen). */
  reset(): void {
    this.bounds = null;
  }

  /**
   * Draws `frame` over the whole canvas: grid, tiles, trail, target ghost, then the camera.
   * Returns where the camera's centre landed, or null when there is no pose yet or the canvas
   * has no 2D context.
   */
  draw(frame: SceneFrame): Drawn | null {
    const ctx = this.prepare();
    if (ctx === null) return null;
    const { width, height } = this.cssSize();
    if (frame.pose !== null) this.include(frame.pose);
    if (frame.target !== null) this.include(frame.target);
    const bounds = this.bounds ?? { minX: -this.viewport.width, maxX: this.viewport.width, minY: -this.viewport.height, maxY: this.viewport.height };
    const scale = Math.min((width - 2 * PADDING_PX) / (bounds.maxX - bounds.minX), (height - 2 * PADDING_PX) / (bounds.maxY - bounds.minY));
    const cx = (bounds.minX + bounds.maxX) / 2;
    const cy = (bounds.minY + bounds.maxY) / 2;
    const toScreen = (x: number, y: number) => ({ x: width / 2 + (x - cx) * scale, y: height / 2 + (y - cy) * scale });
    const toWorld = (sx: number, sy: number) => ({ x: cx + (sx - width / 2) / scale, y: cy + (sy - height / 2) / scale });

    ctx.fillStyle = COLORS.background;
    ctx.fillRect(0, 0, width, height);
    this.drawGrid(ctx, width, height, scale, toScreen, toWorld);
    if (frame.tiles !== undefined) {
      const size = frame.tileSize ?? 64;
      for (const tile of frame.tiles) {
        const corner = toScreen(tile.x * size, tile.y * size);
        ctx.fillStyle = brickColor(tile.brick);
        ctx.fillRect(corner.x, corner.y, Math.max(1, size * scale - 1), Math.max(1, size * scale - 1));
      }
    }
    if (frame.trail.length > 1) {
      ctx.strokeStyle = COLORS.trail;
      ctx.lineWidth = 2;
      ctx.beginPath();
      frame.trail.forEach((pose, i) => {
        const p = toScreen(pose.x, pose.y);
        if (i === 0) ctx.moveTo(p.x, p.y);
        else ctx.lineTo(p.x, p.y);
      });
      ctx.stroke();
    }
    if (frame.target !== null) {
      const t = frame.target;
      const corner = toScreen(t.x - this.viewport.width / (2 * t.zoom), t.y - this.viewport.height / (2 * t.zoom));
      const centre = toScreen(t.x, t.y);
      ctx.setLineDash([6, 5]);
      ctx.strokeStyle = COLORS.ghost;
      ctx.lineWidth = 1.5;
      ctx.strokeRect(corner.x, corner.y, (this.viewport.width / t.zoom) * scale, (this.viewport.height / t.zoom) * scale);
      ctx.setLineDash([]);
      ctx.beginPath();
      ctx.arc(centre.x, centre.y, 4, 0, 2 * Math.PI);
      ctx.stroke();
    }
    if (frame.pose === null) return null;
    const pose = frame.pose;
    const corner = toScreen(pose.x - this.viewport.width / (2 * pose.zoom), pose.y - this.viewport.height / (2 * pose.zoom));
    const w = (this.viewport.width / pose.zoom) * scale;
    const h = (this.viewport.height / pose.zoom) * scale;
    ctx.fillStyle = COLORS.viewportFill;
    ctx.fillRect(corner.x, corner.y, w, h);
    ctx.strokeStyle = INDICATOR_COLOR;
    ctx.lineWidth = 2;
    ctx.strokeRect(corner.x, corner.y, w, h);
    const centre = toScreen(pose.x, pose.y);
    ctx.beginPath();
    ctx.arc(centre.x, centre.y, 7, 0, 2 * Math.PI);
    ctx.fillStyle = INDICATOR_COLOR;
    ctx.fill();
    ctx.lineWidth = 2;
    ctx.strokeStyle = COLORS.outline;
    ctx.stroke();
    ctx.font = '12px ui-monospace, monospace';
    ctx.fillStyle = INDICATOR_COLOR;
    ctx.fillText(`${frame.label}  ×${pose.zoom.toFixed(2)}`, corner.x + 4, corner.y - 6);
    return { screenX: centre.x, screenY: centre.y };
  }

  private drawGrid(
    ctx: CanvasRenderingContext2D,
    width: number,
    height: number,
    scale: number,
    toScreen: (x: number, y: number) => { x: number; y: number },
    toWorld: (x: number, y: number) => { x: number; y: number },
  ): void {
    const step = niceStep(80 / scale);
    const topLeft = toWorld(0, 0);
    const bottomRight = toWorld(width, height);
    ctx.lineWidth = 1;
    ctx.font = '11px ui-monospace, monospace';
    ctx.fillStyle = COLORS.label;
    for (let x = Math.ceil(topLeft.x / step) * step; x <= bottomRight.x; x += step) {
      const sx = Math.round(toScreen(x, 0).x) + 0.5;
      ctx.strokeStyle = Math.abs(x) < step / 2 ? COLORS.axis : COLORS.grid;
      ctx.beginPath();
      ctx.moveTo(sx, 0);
      ctx.lineTo(sx, height);
      ctx.stroke();
      ctx.fillText(formatCoordinate(x), sx + 3, 12);
    }
    for (let y = Math.ceil(topLeft.y / step) * step; y <= bottomRight.y; y += step) {
      const sy = Math.round(toScreen(0, y).y) + 0.5;
      ctx.strokeStyle = Math.abs(y) < step / 2 ? COLORS.axis : COLORS.grid;
      ctx.beginPath();
      ctx.moveTo(0, sy);
      ctx.lineTo(width, sy);
      ctx.stroke();
      ctx.fillText(formatCoordinate(y), 3, sy - 3);
    }
  }

  /** Grows the fitted area to hold this pose's whole viewport, with a margin. */
  private include(pose: CameraPose): void {
    const halfW = (this.viewport.width / (2 * pose.zoom)) * 1.15;
    const halfH = (this.viewport.height / (2 * pose.zoom)) * 1.15;
    const b = this.bounds;
    this.bounds = {
      minX: Math.min(b?.minX ?? Infinity, pose.x - halfW),
      maxX: Math.max(b?.maxX ?? -Infinity, pose.x + halfW),
      minY: Math.min(b?.minY ?? Infinity, pose.y - halfH),
      maxY: Math.max(b?.maxY ?? -Infinity, pose.y + halfH),
    };
  }

  private cssSize(): { width: number; height: number } {
    return { width: this.canvas.clientWidth, height: this.canvas.clientHeight };
  }

  /** Matches the backing store to the element's size and the screen's pixel ratio. */
  private prepare(): CanvasRenderingContext2D | null {
    const ctx = this.canvas.getContext('2d');
    if (ctx === null) return null;
    const ratio = globalThis.devicePixelRatio || 1;
    const { width, height } = this.cssSize();
    const pixelWidth = Math.max(1, Math.round(width * ratio));
    const pixelHeight = Math.max(1, Math.round(height * ratio));
    if (this.canvas.width !== pixelWidth || this.canvas.height !== pixelHeight) {
      this.canvas.width = pixelWidth;
      this.canvas.height = pixelHeight;
    }
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    return ctx;
  }
}

function formatCoordinate(value: number): string {
  return Math.abs(value) >= 10_000 ? value.toExponential(1) : String(Math.round(value * 1000) / 1000);
}
