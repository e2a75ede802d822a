// The HTTP server under the WebSocket endpoint: plain, or TLS (wss:// and https://) when a
// certificate and key are configured. Slow clients get a deadline for their request.
import { createServer as createHttpServer, type RequestListener, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { readFileSync } from 'node:fs';
import { ConfigError } from '../config.js';
import { describeError } from '../util/describe-error.js';

/** The listener's settings: TLS files (both or neither) and the request deadline. */
export interface ListenerSettings {
  /** --tls-cert: path of the PEM certificate (chain); undefined: plain HTTP. */
  tlsCert: string | undefined;
  /** --tls-key: path of the PEM private key; undefined: plain HTTP. */
  tlsKey: string | undefined;
  /** --handshake-timeout-ms: time a client has to send its whole request or upgrade (ms). */
  handshakeTimeoutMs: number;
}

function readPem(path: string, setting: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    const reason = error instanceof Error && 'code' in error ? String((error as NodeJS.ErrnoException).code) : String(error);
    throw new ConfigError(`--${setting}: cannot read ${path} (${reason})`);
  }
}

/**
 * An HTTP or HTTPS server (not yet listening) calling `handler` for plain requests, with
 * `headersTimeout` and `requestTimeout` set to `handshakeTimeoutMs`. `secure`: TLS is on.
 *
 * @throws ConfigError naming the setting when only one of the TLS files is given, a file
 *   cannot be read, or Node rejects the certificate or key.
 */
export function createListener(settings: ListenerSettings, handler: RequestListener): { server: Server; secure: boolean } {
  if ((settings.tlsCert === undefined) !== (settings.tlsKey === undefined)) {
    throw new ConfigError('--tls-cert and --tls-key go together: give both or neither');
  }
  let server: Server;
  // Node checks request deadlines on this interval (30 s by default): often enough to matter.
  const timing = { connectionsCheckingInterval: Math.max(100, Math.min(1000, Math.floor(settings.handshakeTimeoutMs / 2))) };
  if (settings.tlsCert !== undefined && settings.tlsKey !== undefined) {
    const cert = readPem(settings.tlsCert, 'tls-cert');
    const key = readPem(settings.tlsKey, 'tls-key');
    try {
      server = createHttpsServer({ cert, key, ...timing }, handler);
    } catch (error) {
      throw new ConfigError(`--tls-cert/--tls-key: ${describeError(error)}`);
    }
  } else {
    server = createHttpServer(timing, handler);
  }
  // A client that trickles its request (slowloris) is cut off; upgrades included.
  server.headersTimeout = settings.handshakeTimeoutMs;
  server.requestTimeout = settings.handshakeTimeoutMs;
  return { server, secure: settings.tlsCert !== undefined };
}
