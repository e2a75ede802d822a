// The configuration file: one JSON object whose keys are the settings' names, the same names
// as the flags (`{"port": 8765, "max-hz": 30, "db": "/var/lib/wirecam/wiercam_update.db"}`).
// JSON, because it needs no parser beyond the runtime's and every tool can write it. The file
// sits below flags and WIRECAM_* variables, so one run can override any line of it.
import { readFileSync } from 'node:fs';
import { ConfigError, parseFileValue, resolveConfig, type Resolved, type ResolveInput, type SettingSpec } from './config.js';
import { describeError } from './util/describe-error.js';

/** The setting that names the file; it cannot be set from inside a file. */
const CONFIG_FILE_SETTING = 'config';

/**
 * Reads the file and checks every value in it, those a flag or variable overrides included:
 * a broken line must not lie in wait for the day the override goes away.
 * Throws ConfigError naming the path: unreadable (no such file, permission denied, a folder),
 * not JSON (with line and column), not an object, an unknown key (with the likely name meant),
 * a `config` key, or a bad value (of the wrong JSON type too: parseFileValue).
 */
export function readConfigFile(path: string, specs: readonly SettingSpec[]): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a directory' : describeError(error);
    throw new ConfigError(`${path}: cannot read the configuration file: ${why}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`${path}: not valid JSON: ${jsonProblem(error, text)}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ConfigError(`${path}: expected a JSON object of settings by name, e.g. {"port": 8765}`);
  }
  const known = new Map(specs.map((spec) => [spec.name, spec]));
  for (const [key, raw] of Object.entries(value)) {
    if (key === CONFIG_FILE_SETTING) throw new ConfigError(`${path}: ${key}: a configuration file cannot name another one`);
    const spec = known.get(key);
    if (spec === undefined) {
      const guess = closestName(key, known.keys());
      throw new ConfigError(`${path}: unknown setting "${key}"${guess === undefined ? '' : ` (did you mean "${guess}"?)`}`);
    }
    parseFileValue(spec, raw, `${path}: ${key}`);
  }
  return value as Record<string, unknown>;
}

/**
 * Flags and environment first, to learn which file to read (`--config` or WIRECAM_CONFIG);
 * then everything again with the file's values below them. Throws ConfigError as
 * resolveConfig and readConfigFile do.
 */
export function resolveWithFile<S extends readonly SettingSpec[]>(specs: S, input: Pick<ResolveInput, 'argv' | 'env'>): Resolved<S> {
  const first = resolveConfig(specs, { ...input, valuesOnly: true });
  const path = (first.config as Record<string, unknown>)[CONFIG_FILE_SETTING];
  if (typeof path !== 'string') return resolveConfig(specs, input);
  return resolveConfig(specs, { ...input, file: readConfigFile(path, specs), fileName: path });
}

/** "line L column C" for the position JSON.parse names, when it names one. */
function jsonProblem(error: unknown, text: string): string {
  const message = describeError(error);
  const position = /at position (\d+)/.exec(message);
  if (position === null) return message;
  const before = text.slice(0, Number(position[1]));
  const line = before.split('\n').length;
  const column = before.length - before.lastIndexOf('\n');
  return `${message.replace(/ in JSON at position \d+.*$/, '').replace(/ at position \d+.*$/, '')} at line ${line} column ${column}`;
}

/** A known name that differs from `key` only in case and separators (maxHz, max_hz → max-hz). */
function closestName(key: string, known: Iterable<string>): string | undefined {
  const squash = (name: string) => name.toLowerCase().replace(/[^a-z0-9]/g, '');
  for (const name of known) if (squash(name) === squash(key)) return name;
  return undefined;
}

