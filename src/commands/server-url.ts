// The --url of the client commands (tail, top): a ws:// or wss:// address, checked up front
// so that a typo is one line, not a stream of reconnection attempts.
import { ConfigError } from '../config.js';

/**
 * `text` as a normalised ws:// or wss:// URL. Throws ConfigError naming `flag` for anything
 * else (not a URL, or another scheme such as http://).
 */
export function parseWebSocketUrl(text: string, flag = '--url'): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ConfigError(`${flag}: "${text}" is not a URL (e.g. ws://127.0.0.1:8765/)`);
  }
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:') throw new ConfigError(`${flag}: expected a ws:// or wss:// address, got "${text}"`);
  return url.toString();
}
