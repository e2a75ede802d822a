// One fanout process of `wirecam serve --workers N`: a whole node (src/node.ts) on the shared
// port, tailing the one store itself, linked to its primary for the client limits, /healthz
// and /metrics (fanout-link.ts). What must run once per service runs in slot 1 only: the
// demo camera, --source-cmd, and retention of the shared store. With --redis each process
// is a node of its own: its node id gets the slot as a suffix, and slots 2..N keep their
// producers' rows in a store of their own beside the configured one (every node publishes the rows of its own store, so one
// shared store would publish each row N times).
import type { ServeConfig } from '../config.js';
import type { Logger } from '../log.js';
import { WirecamNode } from '../node.js';
import { resolveStorePath } from '../store/open.js';
import { describeError } from '../util/describe-error.js';
import { FanoutLink, type Channel } from './fanout-link.js';

/** The store of slot `slot` with --redis: `x.db` for slot 1, `x.2.db` for slot 2, and so on. */
export function slotStorePath(db: string, slot: number): string {
  if (slot === 1) return db;
  const dot = db.lastIndexOf('.');
  const slash = db.lastIndexOf('/');
  return dot > slash + 1 ? `${db.slice(0, dot)}.${slot}${db.slice(dot)}` : `${db}.${slot}`;
}

/** The settings of slot `slot`'s node, from the service's (see the file comment). */
export function slotConfig(config: ServeConfig, slot: number): ServeConfig {
  const redis = config.redis !== undefined;
  return {
    ...config,
    demo: slot === 1 && config.demo,
    'source-cmd': slot === 1 ? config['source-cmd'] : undefined,
    // Retention prunes the store: once per store, so in slot 1 only where the slots share one.
    'retain-rows': redis || slot === 1 ? config['retain-rows'] : 0,
    'retain-seconds': redis || slot === 1 ? config['retain-seconds'] : 0,
    'node-id': redis && config['node-id'] !== undefined ? `${config['node-id']}-${slot}` : config['node-id'],
    db: redis ? slotStorePath(resolveStorePath(config.db), slot) : config.db,
  };
}

/**
 * Runs this process as fanout process `slot` until SIGTERM, SIGINT or the primary's stop
 * message, then stops its node and resolves. A start-up error is reported to the primary,
 * which reports it as the service's (one line), and this process exits with status 1.
 */
export async function runFanout(config: ServeConfig, log: Logger, slot: number): Promise<void> {
  const link = new FanoutLink(process as unknown as Channel);
  let node: WirecamNode;
  try {
    node = await WirecamNode.start(slotConfig(config, slot), log, { service: link });
  } catch (error) {
    await link.failed(error);
    process.exit(1);
  }
  link.serveMetrics(node.metricsRegistry);
  link.ready(node.url);
  log.info({ url: node.url }, 'fanout process listening');
  await new Promise<void>((resolve) => {
    let stopping = false;
    const shutdown = (cause: string) => {
      if (stopping) return;
      stopping = true;
      log.info({ cause }, 'fanout process stopping');
      node.stop().then(resolve, (error: unknown) => {
        log.error({ err: describeError(error) }, 'shutdown failed');
        resolve();
      });
    };
    // From the primary, or straight from a terminal or a service manager that signals the group.
    link.onStop(() => shutdown('primary'));
    process.on('SIGTERM', () => shutdown('SIGTERM'));
    process.on('SIGINT', () => shutdown('SIGINT'));
  });
  log.info('fanout process stopped');
}
