// The wire contract of PROTOCOL.md, as types and constants. Nothing here does I/O.

export const PROTOCOL_NAME = 'wirecam.v1';
export const SUBPROTOCOL_JSON = 'wirecam.v1.json';
export const SUBPROTOCOL_MSGPACK = 'wirecam.v1.msgpack';
export const SUPPORTED_SUBPROTOCOLS = [SUBPROTOCOL_JSON, SUBPROTOCOL_MSGPACK] as const;

export type Encoding = 'json' | 'msgpack';
export type Role = 'viewer' | 'producer';

/** Default subscription when the query names no camera. */
export const DEFAULT_CAMERA = 'main';
/** The subscription that means "every camera". */
export const ALL_CAMERAS = '*';
export const CAMERA_ID_PATTERN = /^[A-Za-z0-9_.:-]{1,64}$/;

/**
 * The error codes of PROTOCOL.md section 4, plus `rate_limited`: a producer sending faster
 * than --max-producer-rate (the update is not stored). Old clients log an unknown code as
 * they would an unknown type.
 */
export const ERROR_CODES = ['bad_message', 'bad_camera', 'unauthorized', 'too_many_errors', 'rate_limited'] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export const CLOSE_GOING_AWAY = 1001;
export const CLOSE_POLICY_VIOLATION = 1008;
/** RFC 6455 section 7.4.1: the server met a condition that kept it from serving the request. */
export const CLOSE_INTERNAL_ERROR = 1011;
export const CLOSE_SLOW_CONSUMER = 4000;

export interface CameraUpdate {
  type: 'camera_update';
  camera: string;
  seq: number;
  x: number;
  y: number;
  zoom: number;
  target_x: number;
  target_y: number;
  target_zoom: number;
  timestamp: number;
}

export interface TileUpdate {
  type: 'tile_update';
  seq: number;
  x: number;
  y: number;
  brick: string;
  timestamp: number;
}

export interface Hello {
  type: 'hello';
  protocol: typeof PROTOCOL_NAME;
  encoding: Encoding;
  server: string;
  session: string;
  role: Role;
  cameras: string[];
  max_hz: number;
  heartbeat_ms: number;
  /** The store's sequence space (protocol 1.1, PROTOCOL.md section 9). */
  epoch: string;
  /** The newest tile seq at the handshake (0: none). */
  tile_seq: number;
  /** Whether the resume asked for (epoch, tiles_since) was served: false means rebuild the map. */
  recovered: boolean;
}

export interface Heartbeat {
  type: 'heartbeat';
  timestamp: number;
}

export interface Ack {
  type: 'ack';
  seq: number;
}

export interface ErrorMessage {
  type: 'error';
  code: ErrorCode;
  message: string;
}

export type ServerMessage = CameraUpdate | TileUpdate | Hello | Heartbeat | Ack | ErrorMessage;

/** A camera state as a producer gives it: no seq yet, targets and timestamp optional. */
export interface CameraInput {
  camera: string;
  x: number;
  y: number;
  zoom: number;
  target_x: number | null;
  target_y: number | null;
  target_zoom: number | null;
  timestamp: number;
}

export interface TileInput {
  x: number;
  y: number;
  brick: string;
  timestamp: number;
}

export type UpdateInput =
  | { kind: 'camera'; value: CameraInput }
  | { kind: 'tile'; value: TileInput };

export type ClientMessage =
  | { type: 'heartbeat' }
  | { type: 'subscribe'; cameras: string[]; maxHz: number | null }
  | { type: 'camera_update'; value: CameraInput }
  | { type: 'tile_update'; value: TileInput };
