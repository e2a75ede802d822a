// What the Redis bus keeps in Redis, and the Lua scripts that change it. A script runs
// atomically, so assigning a seq (INCR), keeping the camera's latest state (only if newer)
// and publishing it happen as one step: no node can publish a camera's seq 8 before
// another publishes its 7, and the stored state is always the newest one published.
import type { ChainableCommander, Redis } from 'ioredis';
import type { FrameKind } from '../../protocol/ready-frame.js';
import type { SeqHeadsAndTails } from './seq-template.js';
import { ENVELOPE_VERSION } from './envelope.js';

/** Key and channel names; a camera id (^[A-Za-z0-9_.:-]{1,64}$) never collides with them. */
export const REDIS_NAMES = {
  cameraSeq: (camera: string) => `wirecam:seq:${camera}`,
  tileSeq: 'wirecam:tiles:seq',
  /** List: the envelopes of the latest tiles, for nodes that missed them while away. */
  recentTiles: 'wirecam:tiles:recent',
  /**
   * Stream: the tile history for clients' map and resume (tile-history.ts), entry id
   * "<seq>-1", field "e" = envelope; capped with XADD MAXLEN ~ (--tile-history).
   */
  tileHistory: 'wirecam:tiles:history',
  /** Hash: tile coordinate "x,y" -> seq of its latest tile (which history entries are the map). */
  tileLatest: 'wirecam:tiles:latest',
  /** String: the deployment's epoch (docs/protocol.md section 9), created once with SET NX. */
  epoch: 'wirecam:epoch',
  /** Hash: camera id -> envelope of its latest state (src/bus/redis/envelope.ts). */
  states: 'wirecam:states',
  /** Hash: camera id -> "<seq> <timestamp>" of that state, for the script's comparisons. */
  stateMeta: 'wirecam:state-meta',
  cameraChannel: (camera: string) => `wirecam:cam:${camera}`,
  cameraPattern: 'wirecam:cam:*',
  tileChannel: 'wirecam:tiles',
} as const;

/** Tiles kept in REDIS_NAMES.recentTiles (about 320 bytes each). */
export const RECENT_TILES = 10_000;

/**
 * 'live': a new update, always published with the next seq.
 * 'resync': a state offered after an outage (or at start): published with the next seq only
 * if it is at least as recent (producer timestamp) as the state Redis holds, else refused.
 */
export type PublishMode = 'live' | 'resync';

// Byte-level helpers mirror src/bus/redis/seq-template.ts (msgpackUint) and the payload
// sections of src/bus/redis/envelope.ts; test/e2e/redis-bus.test.ts checks that both give the
// same bytes. No WebSocket header is written here: each node frames what it receives
// (src/protocol/frame.ts).
const LUA_HELPERS = `
local function be(n, size)
  local out = {}
  for i = size, 1, -1 do
    out[i] = string.char(n % 256)
    n = math.floor(n / 256)
  end
  return table.concat(out)
end
local function section(head, value, tail)
  return be(#head + #value + #tail, 4) .. be(#head, 4) .. string.char(#value) .. head .. value .. tail
end
local function msgpack_uint(n)
  if n < 0x80 then return string.char(n) end
  if n < 0x100 then return string.char(0xcc, n) end
  if n < 0x10000 then return string.char(0xcd) .. be(n, 2) end
  if n < 0x100000000 then return string.char(0xce) .. be(n, 4) end
  return string.char(0xcf) .. be(n, 8)
end
local function raise(key, floor)
  if floor <= 0 then return end
  local current = tonumber(redis.call('GET', key) or '0')
  if floor > current then redis.call('SET', key, string.format('%d', floor)) end
end
`;

/**
 * KEYS: the seq counter; for cameras also REDIS_NAMES.states and REDIS_NAMES.stateMeta, for
 * tiles REDIS_NAMES.recentTiles, REDIS_NAMES.tileHistory and REDIS_NAMES.tileLatest.
 * ARGV: mode, channel, camera, kind (0/1), timestamp, floor (the counter is first raised to
 * at least this), envelope meta, then the payload bytes before and after the seq: JSON head,
 * JSON tail, MessagePack head, MessagePack tail, legacy head, legacy tail; for tiles also the
 * history's length and the tile's coordinate "x,y".
 * Returns {seq, 1} when published, {seq of the stored state, 0} when refused.
 */
const PUBLISH_LUA = `${LUA_HELPERS}
local mode, channel, camera = ARGV[1], ARGV[2], ARGV[3]
local kind, ts, floor = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local is_camera = ARGV[4] == '0'
local stored_seq, stored_ts
if is_camera then
  local meta = redis.call('HGET', KEYS[3], camera)
  if meta then
    local s, t = string.match(meta, '^(%S+) (%S+)$')
    stored_seq, stored_ts = tonumber(s), tonumber(t)
  end
end
if mode == 'resync' and stored_ts and ts < stored_ts then return {stored_seq, 0} end
raise(KEYS[1], floor)
local seq = redis.call('INCR', KEYS[1])
local digits = string.format('%d', seq)
local envelope = string.char(${ENVELOPE_VERSION}, kind) .. be(seq, 8) .. ARGV[7]
  .. section(ARGV[8], digits, ARGV[9]) .. section(ARGV[10], msgpack_uint(seq), ARGV[11]) .. section(ARGV[12], digits, ARGV[13])
if is_camera and (not stored_seq or seq > stored_seq) then
  redis.call('HSET', KEYS[2], camera, envelope)
  redis.call('HSET', KEYS[3], camera, string.format('%d', seq) .. ' ' .. ARGV[5])
elseif not is_camera then
  redis.call('RPUSH', KEYS[2], envelope)
  redis.call('LTRIM', KEYS[2], -${RECENT_TILES}, -1)
  -- An id at or below the stream's last (its counter was lost and raised again from a
  -- node's floor) is refused: that tile is only missing from the history, never misplaced.
  local added = redis.pcall('XADD', KEYS[3], 'MAXLEN', '~', ARGV[14], string.format('%d', seq) .. '-1', 'e', envelope)
  if type(added) ~= 'table' or not added.err then redis.call('HSET', KEYS[4], ARGV[15], string.format('%d', seq)) end
end
redis.call('PUBLISH', channel, envelope)
return {seq, 1}
`;

/** KEYS: seq counters; ARGV: the floor of each. Raises every counter to at least its floor. */
const RAISE_LUA = `${LUA_HELPERS}
for i, key in ipairs(KEYS) do raise(key, tonumber(ARGV[i])) end
return #KEYS
`;

/**
 * One call of the publish script: the update's routing fields, `timestamp` (ms since the
 * epoch), the counter's `floor`, the envelope's middle (envelope.ts envelopeMeta) and the
 * payload bytes around the seq in each format (seq-template.ts seqHeadsAndTails).
 */
export interface PublishArgs extends SeqHeadsAndTails {
  mode: PublishMode;
  kind: FrameKind;
  camera: string;
  timestamp: number;
  floor: number;
  meta: Buffer;
  /** Tiles: entries kept in the history stream (XADD MAXLEN ~). */
  historyLength?: number;
  /** Tiles: the coordinate, "x,y". */
  coordinate?: string;
}

type ScriptCall = (...args: Array<string | number | Buffer>) => Promise<unknown>;

/** Registers the scripts (EVALSHA, with EVAL when Redis lost its script cache). */
export function defineScripts(redis: Redis): void {
  redis.defineCommand('wirecamPublish', { lua: PUBLISH_LUA });
  redis.defineCommand('wirecamRaise', { lua: RAISE_LUA });
}

function publishArguments(args: PublishArgs): Array<string | number | Buffer> {
  const keys =
    args.kind === 'camera'
      ? [3, REDIS_NAMES.cameraSeq(args.camera), REDIS_NAMES.states, REDIS_NAMES.stateMeta]
      : [4, REDIS_NAMES.tileSeq, REDIS_NAMES.recentTiles, REDIS_NAMES.tileHistory, REDIS_NAMES.tileLatest];
  const channel = args.kind === 'camera' ? REDIS_NAMES.cameraChannel(args.camera) : REDIS_NAMES.tileChannel;
  return [
    ...keys,
    args.mode,
    channel,
    args.camera,
    args.kind === 'camera' ? 0 : 1,
    String(args.timestamp),
    args.floor,
    args.meta,
    args.jsonHead,
    args.jsonTail,
    args.msgpackHead,
    args.msgpackTail,
    args.legacyHead,
    args.legacyTail,
    ...(args.kind === 'tile' ? [args.historyLength ?? DEFAULT_TILE_HISTORY, args.coordinate ?? ''] : []),
  ];
}

/** Tiles kept in REDIS_NAMES.tileHistory unless --tile-history says otherwise. */
export const DEFAULT_TILE_HISTORY = 100_000;

/** Queues a publish on a pipeline; its result is [seq, published 1/0]. */
export function queuePublish(pipeline: ChainableCommander, args: PublishArgs): void {
  (pipeline as unknown as { wirecamPublish: ScriptCall }).wirecamPublish(...publishArguments(args));
}

/**
 * Queues the raise script on a pipeline: each counter key (a camera's seq counter, or the
 * tiles' one) is set to at least its floor (the highest seq this node has shown), so that
 * seqs handed out after a Redis restart never go back (README: "seq across nodes"). Nothing is
 * queued for an empty list.
 */
export function queueRaise(pipeline: ChainableCommander, floors: ReadonlyArray<readonly [key: string, floor: number]>): void {
  if (floors.length === 0) return;
  (pipeline as unknown as { wirecamRaise: ScriptCall }).wirecamRaise(
    floors.length,
    ...floors.map(([key]) => key),
    ...floors.map(([, floor]) => floor),
  );
}
