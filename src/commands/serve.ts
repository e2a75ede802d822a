// `wirecam serve`: the service in the foreground until SIGTERM or SIGINT.
import { SERVE_SETTINGS, type ServeConfig } from '../config.js';
import { resolveWithFile } from '../config-file.js';
import { createLogger } from '../log.js';
import { describeError } from '../util/describe-error.js';
import { WirecamNode } from '../node.js';

/** Flags > WIRECAM_* environment > configuration file (--config) > defaults; any bad value stops here. */
export function serveConfig(argv: readonly string[], env: NodeJS.ProcessEnv): ServeConfig {
  return resolveWithFile(SERVE_SETTINGS, { argv, env }).config;
}

/**
 * `wirecam serve [flags]` (SERVE_SETTINGS): runs the service until SIGTERM or SIGINT, then stops
 * it in order and resolves. Throws ConfigError for a bad setting, StoreOpenError when the store
 * cannot be opened, ListenError when the address cannot be listened on, and any other start-up
 * failure as it came.
 */
export async function serve(argv: readonly string[]): Promise<void> {
  const config = serveConfig(argv, process.env);
  const log = createLogger(config['log-level']);
  const server = await WirecamNode.start(config, log);
  const url = server.url;
  log.info(
    { url, db: server.config.db, max_hz: config['max-hz'], demo: config.demo, producers: config['producer-token'] || config['producer-token-file'] ? 'enabled' : 'disabled', config: config.config },
    `listening on ${url}`,
  );
  if (config.demo) {
    log.info(`demo camera "main" moving at 60 Hz; try: node -e "new (require('ws'))('${url}').on('message', m => console.log(String(m)))"`);
  }
  await new Promise<void>((resolve) => {
    const shutdown = (signal: NodeJS.Signals) => {
      process.off('SIGTERM', shutdown);
      process.off('SIGINT', shutdown);
      log.info({ signal }, 'shutting down');
      server.stop().then(resolve, (error: unknown) => {
        log.error({ err: describeError(error) }, 'shutdown failed');
        resolve();
      });
    };
    process.on('SIGTERM', shutdown);
    process.on('SIGINT', shutdown);
  });
  log.info('stopped');
}
