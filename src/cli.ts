#!/usr/bin/env -S node --max-semi-space-size=1
// The `wirecam` command. Bad invocations get one line and a non-zero exit, never a stack trace.
import { ConfigError, SERVE_SETTINGS, SIMULATE_SETTINGS, TAIL_SETTINGS, TOP_SETTINGS, envName, type SettingSpec } from './config.js';
import { StoreOpenError } from './store/open.js';
import { ListenError } from './server/edge.js';
import { VERSION } from './version.js';
import { describeError } from './util/describe-error.js';

const COMMANDS: Record<string, { summary: string; settings: readonly SettingSpec[]; run: (argv: string[]) => Promise<void> }> = {
  serve: {
    summary: 'broadcast camera states from the store to WebSocket clients',
    settings: SERVE_SETTINGS,
    run: async (argv) => (await import('./commands/serve.js')).serve(argv),
  },
  simulate: {
    summary: 'write a smooth camera path into the store (a stand-in compositor)',
    settings: SIMULATE_SETTINGS,
    run: async (argv) => (await import('./commands/simulate.js')).simulate(argv),
  },
  tail: {
    summary: 'print updates from a running server as they arrive, one line each',
    settings: TAIL_SETTINGS,
    run: async (argv) => (await import('./commands/tail.js')).tail(argv),
  },
  top: {
    summary: 'live dashboard of a running server (q quits); one plain report when not on a terminal',
    settings: TOP_SETTINGS,
    run: async (argv) => (await import('./commands/top.js')).top(argv),
  },
  config: {
    summary: 'with --print (and --config FILE, serve flags): the configuration serve would run with and where each value comes from, secrets masked',
    settings: [],
    run: async (argv) => (await import('./commands/config.js')).configCommand(argv),
  },
};

function usage(): string {
  const lines = [`wirecam ${VERSION}`, '', 'usage: wirecam <command> [--flag value ...]', ''];
  for (const [name, command] of Object.entries(COMMANDS)) {
    lines.push(`wirecam ${name}: ${command.summary}`);
    for (const spec of command.settings) {
      const value = spec.kind === 'boolean' ? '' : ` <${spec.kind}>`;
      const def = spec.default === undefined ? '' : ` (default ${JSON.stringify(spec.default)})`;
      lines.push(`  --${spec.name}${value}  ${spec.description}${def}; env ${envName(spec.name)}`);
    }
    lines.push('');
  }
  return lines.join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    process.stdout.write(`${usage()}\n`);
    return name === undefined ? 2 : 0;
  }
  if (name === 'version' || name === '--version') {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`wirecam: unknown command "${name}" (commands: ${Object.keys(COMMANDS).join(', ')}; see wirecam --help)\n`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(`${usage()}\n`);
    return 0;
  }
  try {
    await command.run(rest);
    return 0;
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`wirecam ${name}: ${error.message} (see wirecam --help)\n`);
      return 2;
    }
    if (error instanceof StoreOpenError || error instanceof ListenError) {
      process.stderr.write(`wirecam ${name}: ${error.message}\n`);
      return 1;
    }
    process.stderr.write(`wirecam ${name}: ${describeError(error)}\n`);
    return 1;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    // Worker threads and sockets are closed by now; exit without waiting on stray handles.
    if (code !== 0 || process.argv[2] === 'serve') setImmediate(() => process.exit(code));
  },
  (error: unknown) => {
    process.stderr.write(`wirecam: ${describeError(error)}\n`);
    process.exit(1);
  },
);
