// Client frames to typed messages. Never throws: every failure is a documented error code
// with a short reason (docs/protocol.md section 5).
import { Unpackr } from 'msgpackr';
import { ALL_CAMERAS, MAX_CAMERAS_PER_SUBSCRIPTION, type ClientMessage, type Encoding, type ErrorCode } from './messages.js';
import { checkCamera, checkTile, excerpt, isCameraId, type Checked } from './validate.js';

/** A decoded client frame, or the `error` to answer it with: `code` and a one-line `message`. */
export type Decoded = { ok: true; message: ClientMessage } | { ok: false; code: ErrorCode; message: string };

// Plain maps only: no records, no structure sharing between messages of a connection.
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: 'number' });

function fail(code: ErrorCode, message: string): Decoded {
  return { ok: false, code, message };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !Buffer.isBuffer(value);
}

function parse(data: Buffer, isBinary: boolean, encoding: Encoding): unknown {
  if (encoding === 'json') {
    if (isBinary) throw new Error('binary frame on a JSON session');
    return JSON.parse(data.toString('utf8'));
  }
  if (!isBinary) throw new Error('text frame on a MessagePack session');
  return unpackr.unpack(data);
}

/**
 * One client frame (`data`, with ws's `isBinary`) of a session of `encoding`, as a typed
 * message. `now` (ms since the epoch) fills in a producer's missing timestamp. Never throws:
 * malformed input is a `bad_message` or `bad_camera` result (docs/protocol.md section 5,
 * docs/protocol.md 4.6).
 */
export function decodeClientMessage(data: Buffer, isBinary: boolean, encoding: Encoding, now: number): Decoded {
  let value: unknown;
  try {
    value = parse(data, isBinary, encoding);
  } catch (error) {
    const reason = error instanceof Error && error.message.includes('session') ? error.message : `not ${encoding === 'json' ? 'JSON' : 'MessagePack'}`;
    return fail('bad_message', reason);
  }
  if (!isPlainObject(value) || typeof value.type !== 'string') {
    return fail('bad_message', 'a message is an object with a string "type"');
  }
  switch (value.type) {
    case 'heartbeat':
      return { ok: true, message: { type: 'heartbeat' } };
    case 'subscribe':
      return decodeSubscribe(value);
    case 'camera_update':
      return fromChecked(checkCamera(value, now), (v) => ({ type: 'camera_update', value: v }));
    case 'tile_update':
      return fromChecked(checkTile(value, now), (v) => ({ type: 'tile_update', value: v }));
    default:
      return fail('bad_message', `unknown message type "${excerpt(value.type, 40)}"`);
  }
}

function fromChecked<T>(checked: Checked<T>, wrap: (value: T) => ClientMessage): Decoded {
  if (checked.ok) return { ok: true, message: wrap(checked.value) };
  return fail(checked.reason === 'bad_camera' ? 'bad_camera' : 'bad_message', checked.message);
}

function decodeSubscribe(value: Record<string, unknown>): Decoded {
  const { cameras, max_hz: maxHz } = value;
  if (!Array.isArray(cameras) || cameras.length === 0 || cameras.length > MAX_CAMERAS_PER_SUBSCRIPTION) {
    return fail('bad_message', `subscribe needs "cameras", an array of 1 to ${MAX_CAMERAS_PER_SUBSCRIPTION} camera ids`);
  }
  for (const camera of cameras) {
    if (camera !== ALL_CAMERAS && !isCameraId(camera)) {
      return fail('bad_camera', 'camera id must match ^[A-Za-z0-9_.:-]{1,64}$ (or be "*")');
    }
  }
  if (maxHz !== undefined && maxHz !== null && (typeof maxHz !== 'number' || !Number.isFinite(maxHz))) {
    return fail('bad_message', 'max_hz must be a number');
  }
  return {
    ok: true,
    message: { type: 'subscribe', cameras: cameras as string[], maxHz: typeof maxHz === 'number' ? maxHz : null },
  };
}
