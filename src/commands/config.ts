// `wirecam config --print`: the configuration `wirecam serve` would run with, given the same
// flags, environment and file, and where each value comes from. Checked exactly as serve
// checks it, so it also answers "will this file start?". Secrets are masked.
import { ConfigError, envName, SERVE_SETTINGS, type SettingSpec, type Source } from '../config.js';
import { resolveWithFile } from '../config-file.js';
import { MASK } from '../util/redact.js';

/**
 * The text `wirecam config --print` prints: one line per serve setting, `name  value  source`
 * (flag, env VARIABLE, file PATH or default), secrets masked. Throws ConfigError as serve would.
 */
function describeConfiguration(argv: readonly string[], env: NodeJS.ProcessEnv): string {
  const { config, sources } = resolveWithFile(SERVE_SETTINGS, { argv, env });
  const values = config as Record<string, unknown>;
  const rows = SERVE_SETTINGS.map((spec: SettingSpec) => [
    spec.name,
    shown(spec, values[spec.name]),
    origin(spec, sources[spec.name]!, config.config),
  ]);
  const widths = [0, 1].map((column) => Math.max(...rows.map((row) => row[column]!.length)));
  const lines = rows.map(([name, value, source]) => `${name!.padEnd(widths[0]!)}  ${value!.padEnd(widths[1]!)}  ${source}`);
  return `# wirecam serve configuration (flags > environment > file > defaults)\n${lines.join('\n')}\n`;
}

function shown(spec: SettingSpec, value: unknown): string {
  if (value === undefined) return '(unset)';
  if (spec.secret) return MASK;
  return String(value);
}

function origin(spec: SettingSpec, source: Source, file: string | undefined): string {
  switch (source) {
    case 'flag':
      return `flag --${spec.name}`;
    case 'env':
      return `env ${envName(spec.name)}`;
    case 'file':
      return `file ${file}`;
    default:
      return 'default';
  }
}

/**
 * `wirecam config --print [serve flags]`: prints describeConfiguration's text to stdout. Throws
 * ConfigError without `--print`, or for any setting serve would refuse.
 */
export async function configCommand(argv: readonly string[]): Promise<void> {
  const rest = argv.filter((arg) => arg !== '--print');
  if (rest.length === argv.length) throw new ConfigError('nothing to do: --print shows the effective serve configuration');
  process.stdout.write(describeConfiguration(rest, process.env));
}
