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

/** String.prototype.isWellFormed and toWellFormed (ES2024; Node 20), not in the ES2022 lib. */
interface WellFormedString {
  isWellFormed(): boolean;
  toWellFormed(): string;
}

/**
 * True when `text` is well-formed UTF-16: no lone surrogate (a high surrogate without the low
 * one after it, or a low one alone). Only such text has a UTF-8 form (RFC 3629 section 3), so
 * only such text can be stored (SQLite TEXT is UTF-8) and sent (JSON, MessagePack str).
 */
export function isWellFormedText(text: string): boolean {
  return (text as unknown as WellFormedString).isWellFormed();
}

/**
 * At most `max` characters (UTF-16 code units) of `value` as text, for quoting a client's
 * input in an error message: a surrogate pair cut in two, or a lone surrogate, becomes U+FFFD,
 * so the message is always well-formed.
 */
export function excerpt(value: unknown, max: number): string {
  return (String(value).slice(0, max) as unknown as WellFormedString).toWellFormed();
}

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
 * What a timestamp with a fraction of a millisecond gets: `refuse` (producers' messages and
 * lines: `bad_timestamp`, docs/protocol.md section 5), or `truncate` to whole milliseconds
 * (store rows, which another program wrote with SQLite's type affinity: a REAL `ts` from a
 * float clock; README "Recording camera states").
 */
export type FractionalTimestamp = 'refuse' | 'truncate';

/**
 * A timestamp is integer milliseconds since the epoch, 0 to 2^53 - 1. Absent means `now` when
 * the caller allows it (producers, `now` not null); a fraction is refused or truncated as
 * `fraction` says.
 */
function checkTimestamp(value: unknown, now: number | null, fraction: FractionalTimestamp): number | undefined {
  if ((value === undefined || value === null) && now !== null) return now;
  if (!isFiniteNumber(value) || value < 0 || value > Number.MAX_SAFE_INTEGER) return undefined;
  if (fraction === 'refuse') return Number.isInteger(value) ? value : undefined;
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
 * `timestamp` integer ms from 0 to 2^53 - 1 (a fraction refused, or truncated when `fraction`
 * is `truncate`: store rows). `now` is the timestamp to use when none is given, or null when one
 * is required (store rows). Never throws.
 */
export function checkCamera(fields: CameraFields, now: number | null, fraction: FractionalTimestamp = 'refuse'): Checked<CameraInput> {
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
  const timestamp = checkTimestamp(fields.timestamp, now, fraction);
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
 * `x`, `y` safe integers, `brick` 1 to MAX_BRICK_LENGTH characters of well-formed text (no lone
 * surrogate: isWellFormedText), `timestamp` integer ms (`now` when absent and `now` is not null;
 * a fraction as `fraction` says, see checkCamera). Never throws.
 */
export function checkTile(fields: TileFields, now: number | null, fraction: FractionalTimestamp = 'refuse'): Checked<TileInput> {
  const { x, y, brick } = fields;
  if (!Number.isSafeInteger(x) || !Number.isSafeInteger(y)) {
    return reject('bad_tile_coordinate', 'tile x and y must be integers');
  }
  if (typeof brick !== 'string' || brick.length === 0 || brick.length > MAX_BRICK_LENGTH) {
    return reject('bad_brick', `brick must be a non-empty string of at most ${MAX_BRICK_LENGTH} characters`);
  }
  if (!isWellFormedText(brick)) return reject('bad_brick', 'brick must be well-formed text (a lone UTF-16 surrogate has no UTF-8 form)');
  const timestamp = checkTimestamp(fields.timestamp, now, fraction);
  if (timestamp === undefined) return reject('bad_timestamp', 'timestamp must be integer milliseconds since the epoch');
  return { ok: true, value: { x: x as number, y: y as number, brick, timestamp } };
}
