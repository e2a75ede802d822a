// Typed configuration. Every setting has one name, used as the flag (--max-hz), the
// environment variable (WIRECAM_MAX_HZ) and the key in a configuration file (max-hz).
// Precedence: flags > environment > file > defaults.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { DEFAULT_DB_PATH } from './store/schema.js';
import { DEFAULT_MAX_CAMERAS } from './fanout/camera-states.js';
import { DEFAULT_WAL_MAX_BYTES } from './store/wal-bound.js';

/**
 * How a setting's value is read: `string` (non-empty, one of `choices` when given), `integer`,
 * `number` (finite, within `min`..`max`), `boolean` (true/false, 1/0, yes/no, on/off), `list`
 * (non-empty strings).
 */
export type SettingKind = 'string' | 'integer' | 'number' | 'boolean' | 'list';

/**
 * One setting. `name` is the flag (`--name`), the config-file key, and, through envName, the
 * environment variable. `description`: the help text; `default`: undefined for a setting unset
 * unless given; `min`, `max`: inclusive bounds for `integer` and `number`.
 */
export interface SettingSpec<K extends SettingKind = SettingKind, N extends string = string> {
  name: N;
  kind: K;
  description: string;
  default: ValueOf<K> | undefined;
  min?: number;
  max?: number;
  /** Masked when the configuration is printed; its variable is kept from child programs (--source-cmd). */
  secret?: boolean;
  /**
   * The path of a file of secrets (token files): shown when the configuration is printed, but,
   * like a secret, its variable is kept from child programs and the file's lines are masked
   * in logged output of a child.
   */
  credentialFile?: boolean;
  /** For string settings: the only values accepted. */
  choices?: readonly string[];
  /**
   * For string settings: the pattern a value must match, and `expected` says it in words for
   * the error. A number in a configuration file is then taken as its decimal text.
   */
  pattern?: RegExp;
  expected?: string;
  /**
   * For string and list settings: a check of the value (of each item of a list) beyond
   * `pattern`; `expected` says what it wants in words for the error.
   */
  valid?: (value: string) => boolean;
  /**
   * For integer and number settings: the name of another setting this one must be greater
   * than, checked once every setting is resolved; `aboveWhy` says why in the error.
   */
  above?: string;
  aboveWhy?: string;
}

type ValueOf<K extends SettingKind> = K extends 'string' ? string : K extends 'boolean' ? boolean : K extends 'list' ? string[] : number;

/** A list is repeatable as a flag, comma-separated in the environment, an array (or a string) in a file. */
export type SettingValue = string | number | boolean | string[];
/** Where a resolved value came from (precedence: flag > env > file > default). */
export type Source = 'flag' | 'env' | 'file' | 'default';

/**
 * A bad invocation or setting, with a one-line message naming the flag, variable or file key and
 * the expected value; the CLI prints it and exits with status 2.
 */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

interface TypedSpec<K extends SettingKind, N extends string, Optional extends boolean> extends SettingSpec<K, N> {
  readonly optional?: Optional;
}

function setting<K extends SettingKind, N extends string>(
  spec: SettingSpec<K, N> & { default: ValueOf<K> },
): TypedSpec<K, N, false>;
function setting<K extends SettingKind, N extends string>(spec: SettingSpec<K, N> & { default: undefined }): TypedSpec<K, N, true>;
function setting<K extends SettingKind, N extends string>(spec: SettingSpec<K, N>): SettingSpec<K, N> {
  return spec;
}

/**
 * Whether `text` is a browser origin as sent in the `Origin` header (RFC 6454 section 6.1):
 * `scheme://host[:port]`, nothing after it but an optional "/", the port left out when it is
 * the scheme's default, letters in any case. "null" and origins of schemes without a host
 * (file:, data:) are not: an allow-list entry must name one site.
 */
export function isOrigin(text: string): boolean {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return false;
  }
  return url.origin !== 'null' && text.replace(/\/$/, '').toLowerCase() === url.origin.toLowerCase();
}

/**
 * The settings of `wirecam serve`; a unit is in the name (`-ms`, `-bytes`, `-hz`). The README's
 * settings table says what each does and what happens past each bound.
 */
export const SERVE_SETTINGS = [
  setting({ name: 'host', kind: 'string', default: '127.0.0.1', description: 'address to listen on' }),
  setting({ name: 'port', kind: 'integer', default: 8765, min: 0, max: 65535, description: 'port to listen on (0: any free port)' }),
  setting({ name: 'db', kind: 'string', default: DEFAULT_DB_PATH, description: 'SQLite store (created with its folder when missing)' }),
  setting({ name: 'max-hz', kind: 'number', default: 60, min: 1, max: 10000, description: 'most camera updates per second per camera sent to any client' }),
  setting({ name: 'burst', kind: 'integer', default: 2, min: 1, max: 100, description: 'updates a client may get at once after a quiet period (token bucket size)' }),
  setting({ name: 'heartbeat-ms', kind: 'integer', default: 10000, min: 10, max: 3_600_000, description: 'interval of heartbeat messages and pings' }),
  setting({
    name: 'idle-timeout-ms', kind: 'integer', default: 60000, min: 50, max: 86_400_000, above: 'heartbeat-ms',
    aboveWhy: 'a client that only answers pings is heard once per heartbeat, so a shorter idle timeout would cut every such client',
    description: 'a connection silent this long is terminated (more than --heartbeat-ms: a client that only answers pings is heard once per heartbeat)',
  }),
  setting({ name: 'producer-token', kind: 'list', default: undefined, secret: true, description: 'tokens that make a connection a producer, comma-separated or repeated (a flag shows in ps: prefer WIRECAM_PRODUCER_TOKEN or --producer-token-file)' }),
  setting({ name: 'producer-token-file', kind: 'string', default: undefined, credentialFile: true, description: 'file of producer tokens, one per line (# starts a comment)' }),
  setting({ name: 'viewer-token', kind: 'list', default: undefined, secret: true, description: 'when set, viewers must present one of these tokens too (read access closed)' }),
  setting({ name: 'viewer-token-file', kind: 'string', default: undefined, credentialFile: true, description: 'file of viewer tokens, one per line' }),
  setting({ name: 'allowed-origin', kind: 'list', default: undefined, valid: isOrigin, expected: 'origins scheme://host[:port] as a browser sends them (no path, no default port), e.g. https://shell.example', description: 'browser origins allowed to connect, e.g. https://shell.example (repeatable); other origins get 403' }),
  setting({ name: 'max-connections-per-ip', kind: 'integer', default: 1000, min: 0, max: 1_000_000, description: 'connections from one address beyond this are refused with 429 (0: no limit; behind a proxy every client has its address)' }),
  setting({ name: 'max-producer-rate', kind: 'number', default: 1000, min: 1, max: 1_000_000, description: 'updates per second one producer connection may send; the excess is refused with error rate_limited' }),
  setting({ name: 'handshake-timeout-ms', kind: 'integer', default: 10000, min: 100, max: 600_000, description: 'a client must complete its HTTP request (the upgrade) within this time' }),
  setting({ name: 'tls-cert', kind: 'string', default: undefined, description: 'PEM certificate (chain): serve wss:// and https:// (with --tls-key)' }),
  setting({ name: 'tls-key', kind: 'string', default: undefined, description: 'PEM private key for --tls-cert' }),
  setting({ name: 'demo', kind: 'boolean', default: false, description: 'also run the simulated camera in this process' }),
  setting({ name: 'source-cmd', kind: 'string', default: undefined, description: 'shell command run under a pseudo-terminal whose output lines are updates (JSON or key=value); restarted when it exits' }),
  setting({ name: 'max-clients', kind: 'integer', default: 10000, min: 1, max: 1_000_000, description: 'connections beyond this are refused with HTTP 503' }),
  setting({ name: 'max-message-bytes', kind: 'integer', default: 65536, min: 256, max: 16 * 1024 * 1024, description: 'a client message larger than this closes the connection (1009)' }),
  setting({ name: 'slow-consumer-bytes', kind: 'integer', default: 4 * 1024 * 1024, min: 1024, max: 1024 * 1024 * 1024, description: 'most bytes of tiles and messages held for a client whose socket is not taking them; one more closes it with 4000 at once' }),
  setting({ name: 'slow-consumer-grace-ms', kind: 'integer', default: 10000, min: 0, max: 3_600_000, description: 'how long a client\'s socket may take nothing of what it is owed before it is closed (4000)' }),
  setting({ name: 'poll-ms', kind: 'integer', default: 1, min: 1, max: 1000, description: 'how often the store reader checks for commits where the store folder cannot be watched' }),
  setting({ name: 'batch-rows', kind: 'integer', default: 1000, min: 1, max: 100000, description: 'rows read from the store per batch' }),
  setting({ name: 'max-cameras', kind: 'integer', default: DEFAULT_MAX_CAMERAS, min: 1, max: 10_000_000, description: 'most cameras whose latest state is kept (the snapshot); past it the least recently updated camera is forgotten' }),
  setting({ name: 'map-held-tiles', kind: 'integer', default: 10000, min: 1, max: 1_000_000, description: 'live tiles held for one client while its map or resume is sent; past this it is closed (4000) and may resume' }),
  setting({ name: 'tile-history', kind: 'integer', default: 100000, min: 100, max: 100_000_000, description: 'with --redis: tiles kept in the Redis stream for resume and the map (XADD MAXLEN ~)' }),
  setting({ name: 'retain-rows', kind: 'integer', default: 1_000_000, min: 0, max: Number.MAX_SAFE_INTEGER, description: 'rows kept per table (0: no limit)' }),
  setting({ name: 'retain-seconds', kind: 'integer', default: 7 * 86400, min: 0, max: Number.MAX_SAFE_INTEGER, description: 'rows older than this are deleted (0: no limit)' }),
  setting({ name: 'wal-max-bytes', kind: 'integer', default: DEFAULT_WAL_MAX_BYTES, min: 1024 * 1024, max: 64 * 1024 * 1024 * 1024, description: "bound of the store's write-ahead log (-wal file): past it the WAL is checkpointed and truncated; a reader holding an old snapshot delays that until it lets go" }),
  setting({ name: 'workers', kind: 'string', default: '1', pattern: /^(auto|[1-9][0-9]*)$/, expected: 'a count of processes from 1 to 256, or auto', description: 'fanout processes sharing the port: 1 to 256, or auto (one per CPU); with more than 1, a primary process runs them and restarts any that dies' }),
  setting({ name: 'redis', kind: 'string', default: undefined, secret: true, description: 'Redis URL (redis://host:6379) shared by several nodes: updates and snapshots go through it (scale-out); may hold a password, so prefer WIRECAM_REDIS_URL' }),
  setting({ name: 'node-id', kind: 'string', default: undefined, pattern: /^[A-Za-z0-9_.:-]{1,64}$/, expected: '1 to 64 of A-Z a-z 0-9 _ . : -', description: 'this node\'s name on Redis (1-64 of A-Z a-z 0-9 _ . : -; default: host name and a random suffix)' }),
  setting({ name: 'log-level', kind: 'string', default: 'info', choices: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], description: 'fatal, error, warn, info, debug, trace or silent' }),
  setting({ name: 'config', kind: 'string', default: undefined, description: 'JSON file of settings by name, e.g. {"port": 8765}; flags and environment win over it' }),
] as const;

/** The settings of `wirecam simulate`: `rate` in states/s, `duration` in s. */
export const SIMULATE_SETTINGS = [
  setting({ name: 'db', kind: 'string', default: DEFAULT_DB_PATH, description: 'SQLite store to write to' }),
  setting({ name: 'rate', kind: 'number', default: 60, min: 0.1, max: 10000, description: 'camera states written per second' }),
  setting({ name: 'camera', kind: 'string', default: 'main', description: 'camera id' }),
  setting({ name: 'duration', kind: 'number', default: 0, min: 0, max: 31_536_000, description: 'seconds to run (0: until stopped)' }),
] as const;

/** The settings of `wirecam tail`. */
export const TAIL_SETTINGS = [
  setting({ name: 'url', kind: 'string', default: 'ws://127.0.0.1:8765/', description: 'WebSocket address of the server' }),
  setting({ name: 'camera', kind: 'string', default: '*', description: 'comma-separated camera ids, or * for every camera' }),
  setting({ name: 'encoding', kind: 'string', default: 'msgpack', choices: ['json', 'msgpack'], description: 'json or msgpack' }),
  setting({ name: 'max-hz', kind: 'number', default: undefined, min: 1, max: 1000, description: 'most updates per second per camera (default: the server maximum)' }),
  setting({ name: 'json', kind: 'boolean', default: false, description: 'print each message as one JSON line' }),
  setting({ name: 'count', kind: 'integer', default: 0, min: 0, max: Number.MAX_SAFE_INTEGER, description: 'exit after this many updates (0: run until stopped)' }),
  setting({ name: 'token', kind: 'string', default: undefined, secret: true, description: 'credential sent as the token query parameter, for a server that asks for one (prefer WIRECAM_TOKEN)' }),
] as const;

/** The settings of `wirecam top`. */
export const TOP_SETTINGS = [
  setting({ name: 'url', kind: 'string', default: 'ws://127.0.0.1:8765/', description: 'WebSocket address of the server (its /healthz and /metrics are read too)' }),
  setting({ name: 'interval-ms', kind: 'integer', default: 1000, min: 100, max: 60_000, description: 'refresh interval; without a terminal, how long to measure before the one report' }),
  setting({ name: 'token', kind: 'string', default: undefined, secret: true, description: 'credential for its WebSocket subscription (token query parameter; prefer WIRECAM_TOKEN)' }),
] as const;

/** Resolved values by setting name, typed by kind; a setting without a default may be undefined. */
export type ConfigOf<S extends readonly SettingSpec[]> = {
  [P in S[number] as P['name']]: P extends TypedSpec<infer K, string, infer Optional>
    ? Optional extends true
      ? ValueOf<K> | undefined
      : ValueOf<K>
    : never;
};

/** Resolved values, and for each setting name where its value came from. */
export interface Resolved<S extends readonly SettingSpec[]> {
  config: ConfigOf<S>;
  sources: Record<string, Source>;
}

/** Variables named otherwise than WIRECAM_<NAME>: the name people already use for a URL. */
const ENV_NAME_EXCEPTIONS: Readonly<Record<string, string>> = { redis: 'WIRECAM_REDIS_URL' };

/**
 * The environment variable of a setting: `WIRECAM_` and the name in upper case with `-` as `_`
 * (`max-hz` → `WIRECAM_MAX_HZ`); `redis` is `WIRECAM_REDIS_URL`.
 */
export function envName(settingName: string): string {
  return ENV_NAME_EXCEPTIONS[settingName] ?? `WIRECAM_${settingName.toUpperCase().replace(/-/g, '_')}`;
}

/**
 * The environment variables that hold a wirecam secret or name a file of them (settings with
 * `secret` or `credentialFile`), over every command's settings: what a child program such as
 * --source-cmd's must not inherit. E.g. WIRECAM_PRODUCER_TOKEN, WIRECAM_REDIS_URL, WIRECAM_TOKEN.
 */
export function secretEnvNames(): string[] {
  const specs: readonly SettingSpec[] = [...SERVE_SETTINGS, ...SIMULATE_SETTINGS, ...TAIL_SETTINGS, ...TOP_SETTINGS];
  return [...new Set(specs.filter((spec) => spec.secret === true || spec.credentialFile === true).map((spec) => envName(spec.name)))];
}

function describeExpected(spec: SettingSpec): string {
  const range = spec.min !== undefined && spec.max !== undefined ? ` from ${spec.min} to ${spec.max}` : '';
  switch (spec.kind) {
    case 'integer':
      return `an integer${range}`;
    case 'number':
      return `a number${range}`;
    case 'boolean':
      return 'true or false';
    case 'list':
      return spec.expected !== undefined ? `one or more ${spec.expected}` : 'one or more comma-separated values';
    default:
      return spec.choices ? `one of ${spec.choices.join(', ')}` : (spec.expected ?? 'a non-empty string');
  }
}

/**
 * `raw` (a flag or variable's text, or a config file's JSON value) as `spec`'s kind (see
 * SettingKind). A list is an array of strings or a comma-separated string, items trimmed, empty
 * ones dropped, at least one left. Throws ConfigError `WHERE: expected …, got …`.
 */
export function parseValue(spec: SettingSpec, raw: unknown, where: string): SettingValue {
  const fail = (): never => {
    throw new ConfigError(`${where}: expected ${describeExpected(spec)}, got ${JSON.stringify(raw)}`);
  };
  switch (spec.kind) {
    case 'boolean': {
      if (typeof raw === 'boolean') return raw;
      const text = String(raw).toLowerCase();
      if (['1', 'true', 'yes', 'on'].includes(text)) return true;
      if (['0', 'false', 'no', 'off'].includes(text)) return false;
      return fail();
    }
    case 'integer':
    case 'number': {
      const value = typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : Number.NaN;
      if (!Number.isFinite(value)) return fail();
      if (spec.kind === 'integer' && !Number.isInteger(value)) return fail();
      if ((spec.min !== undefined && value < spec.min) || (spec.max !== undefined && value > spec.max)) return fail();
      return value;
    }
    case 'list': {
      const items = Array.isArray(raw) ? raw : typeof raw === 'string' ? raw.split(',') : null;
      if (items === null || !items.every((item) => typeof item === 'string')) return fail();
      const values = (items as string[]).map((item) => item.trim()).filter((item) => item !== '');
      if (values.length === 0) return fail();
      const bad = values.find((item) => (spec.pattern !== undefined && !spec.pattern.test(item)) || (spec.valid !== undefined && !spec.valid(item)));
      if (bad !== undefined) throw new ConfigError(`${where}: expected ${describeExpected(spec)}, got ${JSON.stringify(bad)}`);
      return values;
    }
    default: {
      const text = spec.pattern !== undefined && typeof raw === 'number' && Number.isFinite(raw) ? String(raw) : raw;
      if (typeof text !== 'string' || text === '') return fail();
      if (spec.choices && !spec.choices.includes(text)) return fail();
      if (spec.pattern && !spec.pattern.test(text)) return fail();
      if (spec.valid && !spec.valid(text)) return fail();
      return text;
    }
  }
}

/** The JSON type a configuration file's value of each kind must have (strings with a `pattern` may be numbers too). */
const FILE_TYPES: Readonly<Record<SettingKind, string>> = { string: 'string', integer: 'number', number: 'number', boolean: 'boolean', list: 'array of strings or a string' };

/**
 * A configuration file's JSON value as `spec`'s kind: its JSON type must be the kind's
 * (a boolean `true`/`false`, not "yes" or 1; a number, not "8765"; a string; for a list an
 * array of strings or one comma-separated string; a string setting with a `pattern` also
 * takes a number, as its decimal text), then as parseValue. Throws ConfigError
 * `WHERE: expected …, got …` (README, "Configuration file": a value of the wrong type stops).
 */
export function parseFileValue(spec: SettingSpec, raw: unknown, where: string): SettingValue {
  const type = typeof raw;
  const fits =
    spec.kind === 'boolean' ? type === 'boolean'
      : spec.kind === 'integer' || spec.kind === 'number' ? type === 'number'
        : spec.kind === 'list' ? type === 'string' || Array.isArray(raw)
          : type === 'string' || (spec.pattern !== undefined && type === 'number');
  // A value no source would take gets parseValue's error; one only text would take, this one.
  const value = parseValue(spec, raw, where);
  if (!fits) throw new ConfigError(`${where}: expected ${describeExpected(spec)} as a JSON ${FILE_TYPES[spec.kind]}, got ${JSON.stringify(raw)}`);
  return value;
}

/**
 * Splits argv into settings by name, e.g. `['--port', '9000', '--demo', '--allowed-origin=a,b']`
 * → `{port: 9000, demo: true, 'allowed-origin': ['a', 'b']}`. Node's `util.parseArgs` cuts the
 * arguments into tokens (`--name value`, `--name=value` with everything after the first "=",
 * a boolean flag that takes no next argument, positionals, `--`); this maps each token onto
 * its setting and checks its value with `parseValue`. A repeated list flag adds to the list;
 * any other repeated flag: the last one wins.
 *
 * `parseArgs` runs in its lenient mode, with the checks made here: its strict mode refuses an
 * explicit boolean value (`--demo=false`), takes no value that starts with "-" (`--port -1`
 * would not name the bad value), and words its errors in several lines of its own.
 *
 * @throws ConfigError one line: `unknown flag --NAME`, `--NAME needs a value`,
 *   `unexpected argument "ARG"` (a positional, a short option such as `-p`, or `--`), or the
 *   value's own error (`--NAME: expected …, got "…"`), for the first bad argument.
 */
function parseFlags(argv: readonly string[], specs: readonly SettingSpec[]): Map<string, SettingValue> {
  const byName = new Map(specs.map((spec) => [spec.name, spec]));
  const options: NonNullable<ParseArgsConfig['options']> = {};
  for (const spec of specs) options[spec.name] = { type: spec.kind === 'boolean' ? 'boolean' : 'string' };
  const { tokens } = parseArgs({ args: [...argv], options, strict: false, allowPositionals: true, tokens: true });
  const values = new Map<string, SettingValue>();
  for (const token of tokens) {
    if (token.kind !== 'option' || !token.rawName.startsWith('--')) throw new ConfigError(`unexpected argument "${argv[token.index]}"`);
    const spec = byName.get(token.name);
    if (!spec) throw new ConfigError(`unknown flag ${token.rawName}`);
    const flag = `--${spec.name}`;
    let value: SettingValue;
    if (token.value === undefined) {
      if (spec.kind !== 'boolean') throw new ConfigError(`${flag} needs a value`);
      value = true;
    } else {
      value = parseValue(spec, token.value, flag);
    }
    const earlier = values.get(spec.name);
    values.set(spec.name, spec.kind === 'list' && Array.isArray(earlier) && Array.isArray(value) ? [...earlier, ...value] : value);
  }
  return values;
}

/**
 * `argv`: the command's arguments (after its name); `env`: the environment; `file`: the parsed
 * configuration file, if any, and `fileName` its path for messages.
 */
export interface ResolveInput {
  argv: readonly string[];
  env: NodeJS.ProcessEnv;
  file?: Record<string, unknown>;
  fileName?: string;
  /**
   * Values only, without the checks between settings (`above`): a first pass that only learns
   * which configuration file to read, whose values may still change the outcome.
   */
  valuesOnly?: boolean;
}

/**
 * Every setting of `specs` from flags, then WIRECAM_* variables, then `file`, then its default,
 * each value checked (a file's value also for its JSON type, parseFileValue), then the settings
 * that depend on one another (`above`). Does not read a file itself (resolveWithFile does).
 * Throws ConfigError for the first bad flag or value, a key of `file` that names no setting,
 * or a setting not above the one it must exceed.
 */
export function resolveConfig<S extends readonly SettingSpec[]>(specs: S, input: ResolveInput): Resolved<S> {
  const flags = parseFlags(input.argv, specs);
  const config: Record<string, SettingValue | undefined> = {};
  const sources: Record<string, Source> = {};
  if (input.file) {
    const known = new Set(specs.map((spec) => spec.name));
    for (const key of Object.keys(input.file)) {
      if (!known.has(key)) throw new ConfigError(`${input.fileName ?? 'config file'}: unknown setting "${key}"`);
    }
  }
  for (const spec of specs) {
    const env = input.env[envName(spec.name)];
    if (flags.has(spec.name)) {
      config[spec.name] = flags.get(spec.name);
      sources[spec.name] = 'flag';
    } else if (env !== undefined && env !== '') {
      config[spec.name] = parseValue(spec, env, envName(spec.name));
      sources[spec.name] = 'env';
    } else if (input.file && input.file[spec.name] !== undefined) {
      config[spec.name] = parseFileValue(spec, input.file[spec.name], `${input.fileName ?? 'config file'}: ${spec.name}`);
      sources[spec.name] = 'file';
    } else {
      config[spec.name] = spec.default;
      sources[spec.name] = 'default';
    }
  }
  if (input.valuesOnly !== true) checkRelations(specs, config, sources, input.fileName);
  return { config: config as ConfigOf<S>, sources };
}

/** How an error names a setting by where its value came from: `--name`, `WIRECAM_NAME`, `FILE: name`, `--name (default)`. */
function settingWhere(name: string, source: Source | undefined, fileName: string | undefined): string {
  if (source === 'env') return envName(name);
  if (source === 'file') return `${fileName ?? 'config file'}: ${name}`;
  return source === 'default' ? `--${name} (default)` : `--${name}`;
}

/**
 * Settings that depend on one another (`above`): throws ConfigError `A (x) must be greater
 * than B (y): why`, each named by where its value came from.
 */
function checkRelations(specs: readonly SettingSpec[], config: Record<string, SettingValue | undefined>, sources: Record<string, Source>, fileName: string | undefined): void {
  for (const spec of specs) {
    if (spec.above === undefined) continue;
    const value = config[spec.name];
    const bound = config[spec.above];
    if (typeof value !== 'number' || typeof bound !== 'number' || value > bound) continue;
    const why = spec.aboveWhy === undefined ? '' : `: ${spec.aboveWhy}`;
    throw new ConfigError(`${settingWhere(spec.name, sources[spec.name], fileName)} (${value}) must be greater than ${settingWhere(spec.above, sources[spec.above], fileName)} (${bound})${why}`);
  }
}

/** Resolved settings of `wirecam serve`, by name. */
export type ServeConfig = ConfigOf<typeof SERVE_SETTINGS>;
/** Resolved settings of `wirecam simulate`, by name. */
export type SimulateConfig = ConfigOf<typeof SIMULATE_SETTINGS>;
/** Resolved settings of `wirecam tail`, by name. */
export type TailConfig = ConfigOf<typeof TAIL_SETTINGS>;
/** Resolved settings of `wirecam top`, by name. */
export type TopConfig = ConfigOf<typeof TOP_SETTINGS>;
