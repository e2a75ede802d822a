// Token files named by settings (--producer-token-file, --viewer-token-file, and secrets the
// --source-cmd child must not echo): one token per line.
import { readFileSync } from 'node:fs';
import { ConfigError } from './config.js';

/**
 * Tokens from a file, one per line; blank lines and lines starting with # are ignored.
 * Throws ConfigError naming the setting (`--NAME`) and the path when the file cannot be read
 * or holds no token.
 */
export function readTokenFile(path: string, setting: string): string[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const reason = error instanceof Error && 'code' in error ? String((error as NodeJS.ErrnoException).code) : String(error);
    throw new ConfigError(`--${setting}: cannot read ${path} (${reason})`);
  }
  const tokens = text.split('\n').map((line) => line.trim()).filter((line) => line !== '' && !line.startsWith('#'));
  if (tokens.length === 0) throw new ConfigError(`--${setting}: ${path} holds no token`);
  return tokens;
}
