// Configuration: one name per setting, precedence flags > WIRECAM_* environment > file >
// defaults, and errors that name where the bad value came from.
import { describe, expect, it } from 'vitest';
import { ConfigError, envName, resolveConfig, SERVE_SETTINGS, SIMULATE_SETTINGS, type ResolveInput } from '../../src/config.js';

function resolve(input: Partial<ResolveInput>) {
  return resolveConfig(SERVE_SETTINGS, { argv: [], env: {}, ...input });
}

/** The ConfigError thrown by `fn`; fails the test if it throws anything else or nothing. */
function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError, but nothing was thrown');
}

describe('defaults', () => {
  it('gives every setting its default, from source "default"', () => {
    const { config, sources } = resolve({});
    expect(config).toMatchObject({ host: '127.0.0.1', port: 8765, db: './data/wiercam_update.db', 'max-hz': 60, demo: false, 'heartbeat-ms': 10_000 });
    expect(config['producer-token']).toBeUndefined();
    for (const spec of SERVE_SETTINGS) expect(sources[spec.name], spec.name).toBe('default');
  });

  it('names environment variables WIRECAM_ + the setting name', () => {
    expect(envName('max-hz')).toBe('WIRECAM_MAX_HZ');
    expect(envName('producer-token')).toBe('WIRECAM_PRODUCER_TOKEN');
    expect(envName('port')).toBe('WIRECAM_PORT');
  });
});

describe('precedence', () => {
  const file = { 'max-hz': 50 };
  const env = { WIRECAM_MAX_HZ: '40' };

  it('prefers a flag over the environment, the file and the default', () => {
    const { config, sources } = resolve({ argv: ['--max-hz', '30'], env, file });
    expect(config['max-hz']).toBe(30);
    expect(sources['max-hz']).toBe('flag');
  });

  it('prefers the environment over the file', () => {
    const { config, sources } = resolve({ env, file });
    expect(config['max-hz']).toBe(40);
    expect(sources['max-hz']).toBe('env');
  });

  it('prefers the file over the default', () => {
    const { config, sources } = resolve({ file });
    expect(config['max-hz']).toBe(50);
    expect(sources['max-hz']).toBe('file');
  });

  it('resolves each setting on its own', () => {
    const { config, sources } = resolve({
      argv: ['--port', '9001'],
      env: { WIRECAM_HOST: '0.0.0.0' },
      file: { 'heartbeat-ms': 500, port: 1234 },
    });
    expect(config).toMatchObject({ port: 9001, host: '0.0.0.0', 'heartbeat-ms': 500, 'max-hz': 60 });
    expect(sources).toMatchObject({ port: 'flag', host: 'env', 'heartbeat-ms': 'file', 'max-hz': 'default' });
  });

  it('treats an empty environment variable as unset', () => {
    const { config, sources } = resolve({ env: { WIRECAM_MAX_HZ: '' }, file });
    expect(config['max-hz']).toBe(50);
    expect(sources['max-hz']).toBe('file');
  });

  it('ignores environment variables without the WIRECAM_ prefix', () => {
    const { config } = resolve({ env: { PORT: '1', MAX_HZ: '2' } });
    expect(config).toMatchObject({ port: 8765, 'max-hz': 60 });
  });

  it('reads a secret from the environment', () => {
    const { config, sources } = resolve({ env: { WIRECAM_PRODUCER_TOKEN: 's3cret' } });
    expect(config['producer-token']).toEqual(['s3cret']);
    expect(sources['producer-token']).toBe('env');
  });

  it('takes lists comma-separated from the environment, repeated or comma-separated as flags, as arrays from a file', () => {
    expect(resolve({ env: { WIRECAM_PRODUCER_TOKEN: 'a, b,,c' } }).config['producer-token']).toEqual(['a', 'b', 'c']);
    expect(resolve({ argv: ['--allowed-origin', 'https://a.example', '--allowed-origin=https://b.example,https://c.example'] }).config['allowed-origin']).toEqual([
      'https://a.example',
      'https://b.example',
      'https://c.example',
    ]);
    expect(resolve({ file: { 'viewer-token': ['x', 'y'] } }).config['viewer-token']).toEqual(['x', 'y']);
    expect(() => resolve({ file: { 'viewer-token': [1, 2] } })).toThrow(/viewer-token: expected one or more comma-separated values/);
    expect(() => resolve({ argv: ['--producer-token', ' , '] })).toThrow(/--producer-token: expected one or more/);
  });
});

describe('flags', () => {
  it('accepts --flag value and --flag=value alike', () => {
    expect(resolve({ argv: ['--port', '9000'] }).config.port).toBe(9000);
    expect(resolve({ argv: ['--port=9000'] }).config.port).toBe(9000);
  });

  it('keeps everything after the first "=" as the value', () => {
    expect(resolve({ argv: ['--db=./a=b.db'] }).config.db).toBe('./a=b.db');
  });

  it('lets the last of a repeated flag win', () => {
    expect(resolve({ argv: ['--port', '1', '--port=2'] }).config.port).toBe(2);
  });

  it('accepts fractional values for number settings', () => {
    expect(resolve({ argv: ['--max-hz', '12.5'] }).config['max-hz']).toBe(12.5);
  });

  it('sets a boolean flag given without a value, without taking the next argument', () => {
    const { config, sources } = resolve({ argv: ['--demo', '--port', '1'] });
    expect(config.demo).toBe(true);
    expect(sources.demo).toBe('flag');
    expect(config.port).toBe(1);
  });

  it('accepts an explicit boolean value with "="', () => {
    expect(resolve({ argv: ['--demo=false'], env: { WIRECAM_DEMO: 'true' } }).config.demo).toBe(false);
    expect(resolve({ argv: ['--demo=yes'] }).config.demo).toBe(true);
  });

  it('reads booleans from the environment', () => {
    expect(resolve({ env: { WIRECAM_DEMO: '1' } }).config.demo).toBe(true);
    expect(resolve({ env: { WIRECAM_DEMO: 'off' } }).config.demo).toBe(false);
  });

  it('refuses an unknown flag, naming it', () => {
    expect(configError(() => resolve({ argv: ['--x'] })).message).toBe('unknown flag --x');
    expect(configError(() => resolve({ argv: ['--x=1'] })).message).toBe('unknown flag --x');
    // One name per setting: the environment-variable spelling is not a flag.
    expect(configError(() => resolve({ argv: ['--max_hz', '5'] })).message).toBe('unknown flag --max_hz');
  });

  it('refuses a flag that belongs to another command', () => {
    expect(configError(() => resolveConfig(SIMULATE_SETTINGS, { argv: ['--port', '1'], env: {} })).message).toBe('unknown flag --port');
  });

  it('refuses a flag with its value missing at the end', () => {
    expect(configError(() => resolve({ argv: ['--port'] })).message).toContain('--port');
    expect(configError(() => resolve({ argv: ['--host'] })).message).toContain('--host');
  });

  it('refuses a numeric flag followed by another flag instead of a value', () => {
    expect(configError(() => resolve({ argv: ['--port', '--demo'] })).message).toContain('--port');
  });

  it('refuses positional arguments', () => {
    expect(configError(() => resolve({ argv: ['serve'] })).message).toContain('serve');
    expect(configError(() => resolve({ argv: ['-p', '1'] })).message).toContain('-p');
  });

  it('names the whole argument that is not a flag: a group of short options, "--", a stray value', () => {
    expect(configError(() => resolve({ argv: ['-abc'] })).message).toBe('unexpected argument "-abc"');
    expect(configError(() => resolve({ argv: ['--port', '1', '--', '--demo'] })).message).toBe('unexpected argument "--"');
    expect(configError(() => resolve({ argv: ['--demo', 'true'] })).message).toBe('unexpected argument "true"');
  });

  it('takes a value that starts with "-" as the value, and names it when it does not fit', () => {
    expect(configError(() => resolve({ argv: ['--port', '-1'] })).message).toBe('--port: expected an integer from 0 to 65535, got "-1"');
    expect(resolve({ argv: ['--host', '-'] }).config.host).toBe('-');
    expect(configError(() => resolve({ argv: ['--port=1=2'] })).message).toBe('--port: expected an integer from 0 to 65535, got "1=2"');
  });

  it('words a missing value and a repeated list flag the same for every kind of setting', () => {
    expect(configError(() => resolve({ argv: ['--port'] })).message).toBe('--port needs a value');
    expect(configError(() => resolve({ argv: ['--demo', '--allowed-origin'] })).message).toBe('--allowed-origin needs a value');
    expect(resolve({ argv: ['--producer-token=a', '--port', '1', '--producer-token', 'b,c'] }).config['producer-token']).toEqual(['a', 'b', 'c']);
  });
});

describe('invalid values name the flag, the variable or the file key', () => {
  it.each([
    [['--port', 'abc']],
    [['--port', '80.5']],
    [['--port', '70000']],
    [['--port', '-1']],
    [['--port', '']],
    [['--port=']],
    [['--max-hz', '0']],
    [['--max-hz', '10001']],
    [['--max-hz', 'NaN']],
    [['--max-hz', 'Infinity']],
    [['--demo=maybe']],
    [['--host', '']],
  ])('%j', (argv) => {
    const name = argv[0]!.split('=')[0]!;
    const error = configError(() => resolve({ argv }));
    expect(error.message).toContain(name);
  });

  it.each([
    ['WIRECAM_PORT', 'abc'],
    ['WIRECAM_PORT', '65536'],
    ['WIRECAM_MAX_HZ', '50000'],
    ['WIRECAM_MAX_HZ', 'fast'],
    ['WIRECAM_BURST', '1.5'],
    ['WIRECAM_DEMO', 'maybe'],
  ])('%s=%s', (variable, value) => {
    const error = configError(() => resolve({ env: { [variable]: value } }));
    expect(error.message).toContain(variable);
  });

  it('says what was expected and what was given', () => {
    const error = configError(() => resolve({ argv: ['--port', 'abc'] }));
    expect(error.message).toContain('integer');
    expect(error.message).toContain('0');
    expect(error.message).toContain('65535');
    expect(error.message).toContain('"abc"');
  });

  it('accepts the ends of a range', () => {
    expect(resolve({ argv: ['--port', '0'] }).config.port).toBe(0);
    expect(resolve({ argv: ['--port', '65535'] }).config.port).toBe(65535);
    expect(resolve({ argv: ['--max-hz', '1000'] }).config['max-hz']).toBe(1000);
  });
});

describe('configuration file', () => {
  it('refuses an unknown key, naming the key and the file', () => {
    const error = configError(() => resolve({ file: { 'max-hz': 30, maxHz: 30 }, fileName: '/etc/wirecam.json' }));
    expect(error.message).toContain('maxHz');
    expect(error.message).toContain('/etc/wirecam.json');
  });

  it('refuses an unknown key even when a flag sets every known one', () => {
    expect(() => resolve({ argv: ['--port', '1'], file: { typo: 1 } })).toThrow(ConfigError);
  });

  it('refuses a value of the wrong type or out of range, naming the key', () => {
    expect(configError(() => resolve({ file: { port: 'abc' }, fileName: 'wirecam.json' })).message).toMatch(/wirecam\.json.*port/);
    expect(configError(() => resolve({ file: { port: 70_000 } })).message).toContain('port');
    expect(configError(() => resolve({ file: { demo: 'maybe' } })).message).toContain('demo');
    expect(configError(() => resolve({ file: { host: 5 } })).message).toContain('host');
  });

  it('accepts JSON-typed values', () => {
    const { config } = resolve({ file: { port: 9100, demo: true, host: '::1', 'max-hz': 7.5 } });
    expect(config).toMatchObject({ port: 9100, demo: true, host: '::1', 'max-hz': 7.5 });
  });
});
