// One set of rules for camera and tile states, whether they come from a store row or a
// producer's message, so that the store and the wire can never disagree on what is valid.
import { CAMERA_ID_PATTERN, DEFAULT_CAMERA, type CameraInput, type TileInput } from './messages.js';

/**
 * Why a camera or tile state is invalid; counted by reason in /metrics and mapped to the wire's
 * `bad_camera` or `bad_message` (docs/protocol.md 4.6).
 */
export type RejectReason =
  | 'bad_camera'
  | 'non_finite'
  | 'bad_zoom'
  | 'bad_timestamp'
  | 'bad_tile_coordinate'
  | 'bad_brick';

/** Every RejectReason, for counters that start at zero. */
export const REJECT_REASONS: readonly RejectReason[] = [
  'bad_camera',
  'non_finite',
  'bad_zoom',
  'bad_timestamp',
  'bad_tile_coordinate',
  'bad_brick',
];

/** A valid value, or why not: `reason` for counters, `message` a one-line text for the client. */
export type Checked<T> = { ok: true; value: T } | { ok: false; reason: RejectReason; message: string };

/** Longest tile texture name (`brick`), in characters (UTF-16 code units). */
const MAX_BRICK_LENGTH = 256;

/** True when `value` is a string matching CAMERA_ID_PATTERN (docs/protocol.md section 3). */
export function isCameraId(value: unknown): value is string {
  return typeof value === 'string' && CAMERA_ID_PATTERN.test(value);
}

function isFiniteNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

function reject<T>(reason: RejectReason, message: string): Checked<T> {
  return { ok: false, reason, message };
}

/** Absent (undefined or null) means "same as the position"; anything else must be valid. */
function optionalFinite(value: unknown): number | null | undefined {
  if (value === undefined || value === null) return null;
  return isFiniteNumber(value) ? value : undefined;
}

/**
 * A timestamp is integer milliseconds since the epoch. Absent means "now" when the caller
 * allows it (producers); a fractional value is truncated, as a clock with sub-millisecond
 * resolution would be.
 */
function checkTimestamp(value: unknown, now: number | null): number | undefined {
  if ((value === undefined || value === null) && now !== null) return now;
  if (!isFiniteNumber(value) || value < 0 || value > Number.MAX_SAFE_INTEGER) return undefined;
  return Math.trunc(value);
}

/** The fields of a camera state as they come (a decoded message or a store row), unchecked. */
export interface CameraFields {
  camera?: unknown;
  x?: unknown;
  y?: unknown;
  zoom?: unknown;
  target_x?: unknown;
  target_y?: unknown;
  target_zoom?: unknown;
  timestamp?: unknown;
}

/**
 * The rules of docs/protocol.md section 5 for a camera state: `camera` a valid id (default `main`),
 * `x`, `y`, `zoom` finite with `zoom` > 0, `target_*` finite when given (`target_zoom` > 0),
 * `timestamp` integer ms from 0 to 2^53 - 1 (a fraction is truncated). `now` is the timestamp
 * to use when none is given, or null when one is required (store rows). Never throws.
 */
export function checkCamera(fields: CameraFields, now: number | null): Checked<CameraInput> {
  const camera = fields.camera === undefined || fields.camera === null ? DEFAULT_CAMERA : fields.camera;
  if (!isCameraId(camera)) return reject('bad_camera', 'camera id must match ^[A-Za-z0-9_.:-]{1,64}$');
  const { x, y, zoom } = fields;
  if (!isFiniteNumber(x) || !isFiniteNumber(y) || !isFiniteNumber(zoom)) {
    return reject('non_finite', 'x, y and zoom must be finite numbers');
  }
  if (zoom <= 0) return reject('bad_zoom', 'zoom must be > 0');
  const targetX = optionalFinite(fields.target_x);
  const targetY = optionalFinite(fields.target_y);
  const targetZoom = optionalFinite(fields.target_zoom);
  if (targetX === undefined || targetY === undefined || targetZoom === undefined) {
    return reject('non_finite', 'target_x, target_y and target_zoom must be finite numbers when given');
  }
  if (targetZoom !== null && targetZoom <= 0) return reject('bad_zoom', 'target_zoom must be > 0');
  const timestamp = checkTimestamp(fields.timestamp, now);
  if (timestamp === undefined) return reject('bad_timestamp', 'timestamp must be integer milliseconds since the epoch');
  return {
    ok: true,
    value: { camera, x, y, zoom, target_x: targetX, target_y: targetY, target_zoom: targetZoom, timestamp },
  };
}

/** The fields of a tile as they come (a decoded message or a store row), unchecked. */
export interface TileFields {
  x?: unknown;
  y?: unknown;
  brick?: unknown;
  timestamp?: unknown;
}

/**
 * `x`, `y` safe integers, `brick` 1 to MAX_BRICK_LENGTH characters, `timestamp` integer ms (`now`
 * when absent and `now` is not null). Never throws.
 */
export function checkTile(fields: TileFields, now: number | null): Checked<TileInput> {
  const { x, y, brick } = fields;
  if (!Number.isSafeInteger(x) || !Number.isSafeInteger(y)) {
    return reject('bad_tile_coordinate', 'tile x and y must be integers');
  }
  if (typeof brick !== 'string' || brick.length === 0 || brick.length > MAX_BRICK_LENGTH) {
    return reject('bad_brick', `brick must be a non-empty string of at most ${MAX_BRICK_LENGTH} characters`);
  }
  const timestamp = checkTimestamp(fields.timestamp, now);
  if (timestamp === undefined) return reject('bad_timestamp', 'timestamp must be integer milliseconds since the epoch');
  return { ok: true, value: { x: x as number, y: y as number, brick, timestamp } };
}
