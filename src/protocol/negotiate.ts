// Subprotocol choice and subscription parameters of the upgrade request (docs/protocol.md 2 and 3).
import {
  ALL_CAMERAS,
  DEFAULT_CAMERA,
  MAX_CAMERAS_PER_SUBSCRIPTION,
  SUBPROTOCOL_JSON,
  SUBPROTOCOL_MSGPACK,
  SUPPORTED_SUBPROTOCOLS,
  type Encoding,
} from './messages.js';
import { excerpt, isCameraId } from './validate.js';

/** The outcome of subprotocol negotiation (docs/protocol.md section 2; RFC 6455 section 4.2.2). */
export interface SessionMode {
  /** The subprotocol to echo in the handshake, or null for legacy JSON mode. */
  subprotocol: string | null;
  encoding: Encoding;
}

/** A parsed part of the upgrade request, or the one-line reason to refuse it with (HTTP 400). */
export type Negotiated<T> = { ok: true; value: T } | { ok: false; reason: string };

/**
 * The subprotocol to select from `offered`, the raw Sec-WebSocket-Protocol header
 * (comma-separated, RFC 6455 section 4.2.2): the first one the server knows wins; no header
 * means legacy JSON mode; only unknown values are refused (HTTP 400). docs/protocol.md section 2.
 */
export function chooseSubprotocol(offered: string | undefined): Negotiated<SessionMode> {
  if (offered === undefined || offered.trim() === '') {
    return { ok: true, value: { subprotocol: null, encoding: 'json' } };
  }
  for (const candidate of offered.split(',')) {
    const name = candidate.trim();
    if (name === SUBPROTOCOL_JSON) return { ok: true, value: { subprotocol: name, encoding: 'json' } };
    if (name === SUBPROTOCOL_MSGPACK) return { ok: true, value: { subprotocol: name, encoding: 'msgpack' } };
  }
  return { ok: false, reason: `unsupported subprotocol; supported: ${SUPPORTED_SUBPROTOCOLS.join(', ')}` };
}

/** The subscription as the client asked for it: ["*"] or distinct valid ids. */
export function normalizeCameras(cameras: readonly string[]): string[] {
  if (cameras.includes(ALL_CAMERAS)) return [ALL_CAMERAS];
  return [...new Set(cameras)];
}

/** Rates outside 1..serverMax are brought inside it (docs/protocol.md section 3). */
export function clampMaxHz(requested: number | null, serverMaxHz: number): number {
  if (requested === null) return serverMaxHz;
  return Math.min(serverMaxHz, Math.max(1, requested));
}

/**
 * The `camera` and `max_hz` query parameters, checked: distinct ids or `["*"]`; a rate in Hz
 * already clamped to 1..the server's `--max-hz`.
 */
export interface SubscriptionRequest {
  cameras: string[];
  maxHz: number;
}

/**
 * A `max_hz` query value: a decimal number, optionally negative and with a fraction (`30`,
 * `12.5`, `-1`), 15 digits at most on each side of the point. No sign `+`, exponent, hex,
 * `Infinity` or spaces (docs/protocol.md section 3).
 */
const DECIMAL_PATTERN = /^-?[0-9]{1,15}(?:\.[0-9]{1,15})?$/;

/**
 * `camera` (default `main` when absent) and `max_hz` (default `serverMaxHz`, in Hz) of the
 * upgrade's query (docs/protocol.md section 3). Refused with a one-line reason: a camera id
 * outside the pattern (an empty `camera=` or an empty item of a list included), more than
 * MAX_CAMERAS_PER_SUBSCRIPTION ids (the bound of a `subscribe` message too), a `max_hz` that
 * is not a decimal number (DECIMAL_PATTERN). A rate outside 1..serverMaxHz is clamped. Never throws.
 */
export function parseSubscriptionQuery(params: URLSearchParams, serverMaxHz: number): Negotiated<SubscriptionRequest> {
  const cameraParam = params.get('camera');
  const cameras = cameraParam === null ? [DEFAULT_CAMERA] : cameraParam.split(',');
  if (cameras.length > MAX_CAMERAS_PER_SUBSCRIPTION) {
    return { ok: false, reason: `camera names at most ${MAX_CAMERAS_PER_SUBSCRIPTION} camera ids, got ${cameras.length}` };
  }
  for (const camera of cameras) {
    if (camera !== ALL_CAMERAS && !isCameraId(camera)) {
      return { ok: false, reason: `invalid camera id "${excerpt(camera, 70)}": must match ^[A-Za-z0-9_.:-]{1,64}$` };
    }
  }
  const maxHzParam = params.get('max_hz');
  let maxHz: number | null = null;
  if (maxHzParam !== null) {
    if (!DECIMAL_PATTERN.test(maxHzParam)) return { ok: false, reason: `max_hz must be a decimal number such as 30 or 12.5, got "${excerpt(maxHzParam, 40)}"` };
    maxHz = Number(maxHzParam);
  }
  return { ok: true, value: { cameras: normalizeCameras(cameras), maxHz: clampMaxHz(maxHz, serverMaxHz) } };
}

/** What a client asks of the map (docs/protocol.md section 9): `tiles`, and a resume point. */
export type TilesMode = 'live' | 'map' | 'none';

/** The `tiles`, `epoch` and `tiles_since` query parameters, checked (docs/protocol.md section 9.2). */
export interface TileRequest {
  /** `live` (default): live tile updates only; `map`: the map first; `none`: no tiles. */
  tiles: TilesMode;
  /** `epoch` and `tiles_since` of a resume, or null. */
  resume: { epoch: string; since: number } | null;
}

const TILES_MODES: readonly TilesMode[] = ['live', 'map', 'none'];
/** An epoch as the server writes them (src/store/meta.ts, Redis): the camera id alphabet. */
const EPOCH_PATTERN = /^[A-Za-z0-9_.:-]{1,64}$/;
/** A tile seq: a non-negative integer in decimal, at most 2^53 - 1. */
const SEQ_PATTERN = /^[0-9]{1,16}$/;

/**
 * `tiles`, `epoch` and `tiles_since` of the upgrade request (docs/protocol.md section 9). A
 * malformed value, or only one of `epoch` and `tiles_since`, is refused (HTTP 400) with a
 * one-line reason.
 */
export function parseTileQuery(params: URLSearchParams): Negotiated<TileRequest> {
  const tilesParam = params.get('tiles');
  let tiles: TilesMode = 'live';
  if (tilesParam !== null) {
    if (!TILES_MODES.includes(tilesParam as TilesMode)) {
      return { ok: false, reason: `tiles must be live, map or none, got "${excerpt(tilesParam, 40)}"` };
    }
    tiles = tilesParam as TilesMode;
  }
  const epoch = params.get('epoch');
  const since = params.get('tiles_since');
  if (epoch === null && since === null) return { ok: true, value: { tiles, resume: null } };
  if (epoch === null || since === null) return { ok: false, reason: 'epoch and tiles_since go together (a resume needs both)' };
  if (!EPOCH_PATTERN.test(epoch)) return { ok: false, reason: 'epoch must match ^[A-Za-z0-9_.:-]{1,64}$ (the hello.epoch of an earlier connection)' };
  const seq = Number(since);
  if (!SEQ_PATTERN.test(since) || !Number.isSafeInteger(seq)) {
    return { ok: false, reason: `tiles_since must be a non-negative integer tile seq, got "${excerpt(since, 40)}"` };
  }
  return { ok: true, value: { tiles, resume: { epoch, since: seq } } };
}
