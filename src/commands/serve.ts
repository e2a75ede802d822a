// `wirecam serve`: the service in the foreground until SIGTERM or SIGINT. With --workers N
// (N > 1) this process becomes the primary of N fanout processes (src/cluster/).
import cluster from 'node:cluster';
import { SERVE_SETTINGS, envName, type ServeConfig } from '../config.js';
import { resolveWithFile } from '../config-file.js';
import { createLogger, type Logger } from '../log.js';
import { describeError } from '../util/describe-error.js';
import { fanoutCount, fanoutSlot } from '../cluster/workers.js';

/** Flags > WIRECAM_* environment > configuration file (--config) > defaults; any bad value stops here. */
export function serveConfig(argv: readonly string[], env: NodeJS.ProcessEnv): ServeConfig {
  return resolveWithFile(SERVE_SETTINGS, { argv, env }).config;
}

/** Resolves on the first SIGTERM or SIGINT, with its name. */
function signalled(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const shutdown = (signal: NodeJS.Signals) => {
      process.off('SIGTERM', shutdown);
      process.off('SIGINT', shutdown);
      resolve(signal);
    };
    process.on('SIGTERM', shutdown);
    process.on('SIGINT', shutdown);
  });
}

/**
 * `wirecam serve [flags]` (SERVE_SETTINGS): runs the service until SIGTERM or SIGINT, then stops
 * it in order and resolves. Throws ConfigError for a bad setting, StoreOpenError when the store
 * cannot be opened, ListenError when the address cannot be listened on, and any other start-up
 * failure as it came (with --workers N, those of any fanout process, as its own).
 */
export async function serve(argv: readonly string[]): Promise<void> {
  const { config, sources } = resolveWithFile(SERVE_SETTINGS, { argv, env: process.env });
  const where = sources.workers === 'flag' ? '--workers' : sources.workers === 'env' ? envName('workers') : `${config.config ?? 'config file'}: workers`;
  const workers = fanoutCount(config.workers, where);
  const log = createLogger(config['log-level']);
  const slot = fanoutSlot();
  if (cluster.isWorker && slot !== null) {
    const { runFanout } = await import('../cluster/fanout.js');
    await runFanout(config, log.child({ slot, pid: process.pid }), slot);
    return;
  }
  // The primary loads neither the node nor the network edge: it serves no client.
  if (workers > 1) {
    await servePrimary(config, log, workers);
    return;
  }
  const { WirecamNode } = await import('../node.js');
  const server = await WirecamNode.start(config, log);
  const url = server.url;
  log.info(
    { url, db: server.config.db, max_hz: config['max-hz'], demo: config.demo, producers: config['producer-token'] || config['producer-token-file'] ? 'enabled' : 'disabled', config: config.config },
    `listening on ${url}`,
  );
  if (config.demo) {
    log.info(`demo camera "main" moving at 60 Hz; try: node -e "new (require('ws'))('${url}').on('message', m => console.log(String(m)))"`);
  }
  const signal = await signalled();
  log.info({ signal }, 'shutting down');
  await server.stop().catch((error: unknown) => log.error({ err: describeError(error) }, 'shutdown failed'));
  log.info('stopped');
}

/** The primary of `workers` fanout processes: started, then stopped on the first signal. */
async function servePrimary(config: ServeConfig, log: Logger, workers: number): Promise<void> {
  const { ClusterPrimary } = await import('../cluster/primary.js');
  const primary = new ClusterPrimary(config, log, workers);
  // A signal during start stops what started.
  const signal = signalled();
  await primary.start();
  const url = primary.serviceUrl;
  log.info(
    { url, workers, pids: primary.pids, db: config.db, max_hz: config['max-hz'], demo: config.demo, producers: config['producer-token'] || config['producer-token-file'] ? 'enabled' : 'disabled', config: config.config },
    `listening on ${url}`,
  );
  log.info({ signal: await signal }, 'shutting down');
  await primary.stop();
  log.info('stopped');
}
