// What a --source-cmd program must not get from wirecam: the secrets in its environment
// (they are wirecam's, not the program's), and in wirecam's log, any secret the program
// happens to print on a line that is then logged as rejected.
import { SERVE_SETTINGS, secretEnvNames, type ServeConfig, type SettingSpec } from '../config.js';
import { readTokenFile } from '../token-file.js';

/**
 * The environment for the child: `env` without the variables of wirecam's secrets
 * (`secretEnvNames()` of config.ts: tokens, token files, the Redis URL), with TERM set to
 * `term`. Unset values are left out (node-pty takes strings only).
 */
export function commandEnvironment(env: NodeJS.ProcessEnv, term: string): Record<string, string> {
  const hidden = new Set(secretEnvNames());
  const result: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value !== undefined && !hidden.has(name)) result[name] = value;
  }
  result.TERM = term;
  return result;
}

/**
 * Every secret value the service is configured with: the values of `secret` settings (producer
 * and viewer tokens, the Redis URL and its password), and the tokens in the token files.
 * Throws ConfigError when a token file cannot be read (the service checked them already).
 */
export function configuredSecrets(config: ServeConfig): string[] {
  const values = config as unknown as Record<string, unknown>;
  const secrets: string[] = [];
  for (const spec of SERVE_SETTINGS as readonly SettingSpec[]) {
    const value = values[spec.name];
    if (value === undefined) continue;
    if (spec.secret === true) {
      for (const text of Array.isArray(value) ? value : [value]) {
        if (typeof text !== 'string') continue;
        secrets.push(text, ...urlPassword(text));
      }
    } else if (spec.credentialFile === true && typeof value === 'string') {
      secrets.push(...readTokenFile(value, spec.name));
    }
  }
  return secrets;
}

/** The password of a URL such as redis://:pw@host:6379, as written and decoded; none when it has none. */
function urlPassword(text: string): string[] {
  if (!text.includes('://')) return [];
  try {
    const password = new URL(text).password;
    return password === '' ? [] : [password, decodeURIComponent(password)];
  } catch {
    return [];
  }
}
