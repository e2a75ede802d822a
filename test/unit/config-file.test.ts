// Reading the configuration file and resolving it under flags and environment, in-process
// (the same cases run as real processes in test/e2e/config-file.test.ts).
import { afterAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { resolveConfig, SERVE_SETTINGS } from '../../src/config.js';
import { readConfigFile, resolveWithFile } from '../../src/config-file.js';
import { LOG_LEVELS } from '../../src/log.js';
import { tempDir, removeTempDirs } from '../helpers/tmp.js';
import { configErrorOf } from '../helpers/config-error.js';

afterAll(() => removeTempDirs());

function file(content: string): string {
  const path = join(tempDir(), 'wirecam.json');
  writeFileSync(path, content);
  return path;
}

const message = configErrorOf;

describe('resolveWithFile', () => {
  it('reads the file named by --config or WIRECAM_CONFIG, below flags and environment', () => {
    const path = file('{"port": 9100, "max-hz": 30, "burst": 4}');
    const byFlag = resolveWithFile(SERVE_SETTINGS, { argv: ['--config', path, '--port', '9200'], env: { WIRECAM_MAX_HZ: '40' } });
    expect(byFlag.config).toMatchObject({ port: 9200, 'max-hz': 40, burst: 4, config: path });
    expect(byFlag.sources).toMatchObject({ port: 'flag', 'max-hz': 'env', burst: 'file', host: 'default', config: 'flag' });
    const byEnv = resolveWithFile(SERVE_SETTINGS, { argv: [], env: { WIRECAM_CONFIG: path } });
    expect(byEnv.config).toMatchObject({ port: 9100, 'max-hz': 30 });
    expect(byEnv.sources.config).toBe('env');
  });

  it('is the plain resolution without a file', () => {
    expect(resolveWithFile(SERVE_SETTINGS, { argv: ['--port', '1'], env: {} })).toEqual(resolveConfig(SERVE_SETTINGS, { argv: ['--port', '1'], env: {} }));
  });
});

describe('readConfigFile', () => {
  it('names the line and column of a JSON syntax error', () => {
    const path = file('{\n  "port": 1,\n  "host" "x"\n}');
    expect(message(() => readConfigFile(path, SERVE_SETTINGS))).toMatch(/not valid JSON: .* at line 3 column 10$/);
  });

  it('checks every value, even one a flag would override', () => {
    expect(message(() => readConfigFile(file('{"port": -1}'), SERVE_SETTINGS))).toMatch(/: port: expected an integer from 0 to 65535, got -1$/);
    expect(message(() => readConfigFile(file('{"host": null}'), SERVE_SETTINGS))).toMatch(/: host: expected a non-empty string, got null$/);
  });

  it('suggests the setting a near-miss key meant', () => {
    expect(message(() => readConfigFile(file('{"max_hz": 1}'), SERVE_SETTINGS))).toMatch(/unknown setting "max_hz" \(did you mean "max-hz"\?\)$/);
    expect(message(() => readConfigFile(file('{"colour": 1}'), SERVE_SETTINGS))).toMatch(/unknown setting "colour"$/);
  });

  it('refuses a folder', () => {
    expect(message(() => readConfigFile(tempDir(), SERVE_SETTINGS))).toMatch(/cannot read the configuration file: is a directory$/);
  });
});

describe('log-level', () => {
  it('accepts exactly the levels the logger knows, from every source', () => {
    const spec = SERVE_SETTINGS.find((s) => s.name === 'log-level')!;
    expect(spec.choices).toEqual(LOG_LEVELS);
    expect(message(() => resolveConfig(SERVE_SETTINGS, { argv: ['--log-level', 'loud'], env: {} }))).toMatch(/^--log-level: expected one of fatal, .*silent, got "loud"$/);
    expect(message(() => resolveConfig(SERVE_SETTINGS, { argv: [], env: { WIRECAM_LOG_LEVEL: 'verbose' } }))).toMatch(/^WIRECAM_LOG_LEVEL: expected one of/);
  });
});
