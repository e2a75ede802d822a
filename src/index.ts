// `import ... from 'wirecam'`: the service for programs that embed it, and the wire types.
// Clients import 'wirecam/client' instead (src/client/), which runs in browsers too.
export { WirecamNode } from './node.js';
/** The service's public name since its first release: the same class as `WirecamNode`. */
export { WirecamNode as WirecamServer } from './node.js';
export { ListenError } from './server/edge.js';
export { ConfigError, resolveConfig, SERVE_SETTINGS, type ServeConfig } from './config.js';
export { createLogger, type Logger } from './log.js';
export * from './protocol/messages.js';
