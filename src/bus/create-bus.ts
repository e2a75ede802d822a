// Which bus a node runs on: in-process (one node, the default) or Redis (--redis URL, for
// several nodes sharing one Redis). Both settings are checked here, before anything starts.
import { ConfigError } from '../config.js';
import type { Logger } from '../log.js';
import { InProcessBus, type Bus } from './bus.js';
import { defaultNodeId, RedisBus } from './redis/redis-bus.js';

/** Like a camera id: it travels in every envelope and shows in logs. */
const NODE_ID_PATTERN = /^[A-Za-z0-9_.:-]{1,64}$/;

/**
 * The serve settings the bus is made from (README settings table): `redis`: --redis
 * (WIRECAM_REDIS_URL), a redis:// or rediss:// URL, or undefined for one node; `node-id`:
 * --node-id (default: host name and a random suffix); `tile-history`: --tile-history, tiles
 * kept in Redis's history stream (default 100000).
 */
export interface BusSettings {
  redis: string | undefined;
  'node-id': string | undefined;
  'tile-history'?: number;
}

/**
 * The node's bus: an InProcessBus without `redis`, else a RedisBus (not connected yet: its
 * `snapshot` connects). Throws ConfigError, before anything connects, when `redis` is not a
 * URL or not redis:/rediss:, or the node id is not 1 to 64 of A-Z a-z 0-9 _ . : -.
 */
export function createBus(settings: BusSettings, log: Logger): Bus {
  const url = settings.redis;
  if (url === undefined) return new InProcessBus();
  let protocol: string;
  try {
    protocol = new URL(url).protocol;
  } catch {
    throw new ConfigError(`--redis: expected a URL such as redis://127.0.0.1:6379, got ${JSON.stringify(url)}`);
  }
  if (protocol !== 'redis:' && protocol !== 'rediss:') {
    throw new ConfigError(`--redis: expected a redis:// or rediss:// URL, got ${JSON.stringify(protocol)}`);
  }
  const nodeId = settings['node-id'] ?? defaultNodeId();
  if (!NODE_ID_PATTERN.test(nodeId)) {
    throw new ConfigError(`--node-id: expected 1 to 64 of A-Z a-z 0-9 _ . : -, got ${JSON.stringify(nodeId)}`);
  }
  return new RedisBus({ url, nodeId, log, tileHistory: settings['tile-history'] });
}
