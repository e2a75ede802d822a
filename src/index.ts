// `import ... from 'wirecam'`: the service for programs that embed it, and the wire types.
// Clients import 'wirecam/client' instead (src/client/), which runs in browsers too.
export { WirecamServer, ListenError } from './server/server.js';
export { ConfigError, resolveConfig, SERVE_SETTINGS, type ServeConfig } from './config.js';
export { createLogger, type Logger } from './log.js';
export * from './protocol/messages.js';
