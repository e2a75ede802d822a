// The wire contract of docs/protocol.md, as types and constants. Nothing here does I/O.

/** The protocol name and version, sent as `hello.protocol` (docs/protocol.md 4.1). */
export const PROTOCOL_NAME = 'wirecam.v1';
/** `Sec-WebSocket-Protocol` value for JSON text frames (docs/protocol.md section 2; RFC 6455 section 11.3.4). */
export const SUBPROTOCOL_JSON = 'wirecam.v1.json';
/** `Sec-WebSocket-Protocol` value for MessagePack binary frames (docs/protocol.md section 2). */
export const SUBPROTOCOL_MSGPACK = 'wirecam.v1.msgpack';
/** Every subprotocol the server selects, in the order a refused upgrade (HTTP 400) names them. */
export const SUPPORTED_SUBPROTOCOLS = [SUBPROTOCOL_JSON, SUBPROTOCOL_MSGPACK] as const;

/** Frame encoding of a session: `json` (text frames; also legacy JSON mode) or `msgpack` (binary). */
export type Encoding = 'json' | 'msgpack';
/**
 * `viewer` only receives; `producer` (it presented a producer token) may also send updates
 * (docs/protocol.md section 5).
 */
export type Role = 'viewer' | 'producer';

/** Default subscription when the query names no camera. */
export const DEFAULT_CAMERA = 'main';
/** The subscription that means "every camera". */
export const ALL_CAMERAS = '*';
/** A valid camera id: 1 to 64 of `A-Z a-z 0-9 _ . : -` (docs/protocol.md section 3). */
export const CAMERA_ID_PATTERN = /^[A-Za-z0-9_.:-]{1,64}$/;
/**
 * Most camera ids one subscription may name, in the `camera` query parameter or a `subscribe`
 * message alike (docs/protocol.md sections 3 and 5); more is refused (400, `bad_message`).
 */
export const MAX_CAMERAS_PER_SUBSCRIPTION = 256;

/**
 * The error codes of docs/protocol.md section 4, plus `rate_limited`: a message past its
 * connection's budget (docs/protocol.md section 7), e.g. a producer sending faster than
 * --max-producer-rate (the update is not stored). Old clients log an unknown code as
 * they would an unknown type.
 */
export const ERROR_CODES = ['bad_message', 'bad_camera', 'unauthorized', 'too_many_errors', 'rate_limited'] as const;
/** The `code` of an `error` message; one of ERROR_CODES. */
export type ErrorCode = (typeof ERROR_CODES)[number];

/** Close code 1001: the server is shutting down (RFC 6455 section 7.4.1; docs/protocol.md section 7). */
export const CLOSE_GOING_AWAY = 1001;
/** Close code 1008: `too_many_errors` (RFC 6455 section 7.4.1; docs/protocol.md section 7). */
export const CLOSE_POLICY_VIOLATION = 1008;
/** RFC 6455 section 7.4.1: the server met a condition that kept it from serving the request. */
export const CLOSE_INTERNAL_ERROR = 1011;
/**
 * Close code 4000 "slow consumer" (docs/protocol.md section 7): a client owed more than
 * `--slow-consumer-bytes`, or whose socket took nothing for `--slow-consumer-grace-ms`. 4000-4999
 * is the private-use range of RFC 6455 section 7.4.2.
 */
export const CLOSE_SLOW_CONSUMER = 4000;

/**
 * One camera state on the wire (docs/protocol.md section 4, docs/protocol.md 4.2). `x`, `y`: world
 * coordinates; `zoom` > 0; `target_*`: where the camera is heading (equal to `x`, `y`, `zoom` when
 * the producer gave none); `seq`: strictly increasing per camera, never reused (the store's row
 * id, or with Redis the camera's Redis counter); `timestamp`: integer ms since the Unix epoch
 * (seconds in legacy JSON mode, docs/protocol.md 4.7).
 */
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

/**
 * One map tile (docs/protocol.md 4.3): integer grid coordinates `x`, `y`, a texture name `brick`
 * (1 to 256 characters), the producer's `timestamp` in integer ms; `seq` is the tile table's row
 * id, a sequence of its own within one epoch (docs/protocol.md section 9).
 */
export interface TileUpdate {
  type: 'tile_update';
  seq: number;
  x: number;
  y: number;
  brick: string;
  timestamp: number;
}

/**
 * The first message of a `wirecam.v1.*` session, never sent in legacy JSON mode (docs/protocol.md
 * 4.1). `server`: `wirecam/<version>`; `session`: a random id of this connection; `cameras`: the
 * subscription as asked (`["*"]` for every camera); `max_hz`: the rate the client gets after
 * clamping, in Hz; `heartbeat_ms`: the heartbeat interval in ms.
 */
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
  /** The store's sequence space (protocol 1.1, docs/protocol.md section 9). */
  epoch: string;
  /** The newest tile seq at the handshake (0: none). */
  tile_seq: number;
  /** Whether the resume asked for (epoch, tiles_since) was served: false means rebuild the map. */
  recovered: boolean;
}

/**
 * Sent every `--heartbeat-ms` with a WebSocket ping; `timestamp` in integer ms (seconds in legacy
 * JSON mode). Clients may answer with any message (docs/protocol.md section 5).
 */
export interface Heartbeat {
  type: 'heartbeat';
  timestamp: number;
}

/**
 * To a producer only: its update is committed to the store (`synchronous=FULL`); `seq` is the
 * stored row's id (docs/protocol.md 4.5).
 */
export interface Ack {
  type: 'ack';
  seq: number;
}

/**
 * An answer to bad input, sent in every mode (docs/protocol.md 4.6): `code` from ERROR_CODES,
 * `message` a short human-readable reason. The input it answers changed nothing.
 */
export interface ErrorMessage {
  type: 'error';
  code: ErrorCode;
  message: string;
}

/** Every message the server sends, told apart by `type` (docs/protocol.md section 4). */
export type ServerMessage = CameraUpdate | TileUpdate | Hello | Heartbeat | Ack | ErrorMessage;

/**
 * A camera state as a producer or a store row gives it, checked: no seq yet; `target_*` null
 * means "same as the position"; `timestamp` integer ms since the Unix epoch.
 */
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

/**
 * A tile as a producer or a store row gives it: no seq yet; `x`, `y` safe integers, `brick` 1 to
 * 256 characters, `timestamp` integer ms since the Unix epoch.
 */
export interface TileInput {
  x: number;
  y: number;
  brick: string;
  timestamp: number;
}

/** One producer update to store, camera state or tile, as the store writer takes it. */
export type UpdateInput =
  | { kind: 'camera'; value: CameraInput }
  | { kind: 'tile'; value: TileInput };

/**
 * A decoded, validated client message (docs/protocol.md section 5); `subscribe.maxHz` is null when the
 * client named no rate (it keeps its current one).
 */
export type ClientMessage =
  | { type: 'heartbeat' }
  | { type: 'subscribe'; cameras: string[]; maxHz: number | null }
  | { type: 'camera_update'; value: CameraInput }
  | { type: 'tile_update'; value: TileInput };
