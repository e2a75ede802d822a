// The checks a value gets beyond its kind: origins, the node id's pattern, a configuration
// file's JSON types, and settings that must exceed another (the refusals themselves run as
// real processes in test/e2e/settings-checked.test.ts). What is valid stays accepted.
import { afterAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isOrigin, resolveConfig, SERVE_SETTINGS, type ResolveInput } from '../../src/config.js';
import { resolveWithFile } from '../../src/config-file.js';
import { tempDir, removeTempDirs } from '../helpers/tmp.js';
import { configErrorOf } from '../helpers/config-error.js';

afterAll(() => removeTempDirs());

function resolve(input: Partial<ResolveInput>) {
  return resolveConfig(SERVE_SETTINGS, { argv: [], env: {}, ...input });
}

const message = configErrorOf;

describe('isOrigin', () => {
  it('takes an origin as browsers send it, in any case, with or without a final slash', () => {
    for (const origin of ['https://shell.example', 'http://127.0.0.1:8080', 'HTTPS://Shell.Example/', 'http://[::1]:3000', 'https://a.b.example:8443']) {
      expect(isOrigin(origin), origin).toBe(true);
    }
  });

  it('refuses what no browser sends as an Origin', () => {
    for (const text of ['notanorigin', 'shell.example', 'https://shell.example/app', 'https://shell.example?x=1', 'https://shell.example:443', 'http://a.example:80', 'null', 'file:///tmp/x', 'https://user@shell.example', '']) {
      expect(isOrigin(text), text).toBe(false);
    }
  });
});

describe('checks beyond the kind', () => {
  it('accepts valid origins, node ids and an idle timeout above the heartbeat from every source', () => {
    const { config } = resolve({
      argv: ['--allowed-origin', 'https://shell.example', '--node-id', 'node-a.1:x'],
      env: { WIRECAM_HEARTBEAT_MS: '10000' },
      file: { 'idle-timeout-ms': 10001 },
    });
    expect(config['allowed-origin']).toEqual(['https://shell.example']);
    expect(config['node-id']).toBe('node-a.1:x');
    expect(config['idle-timeout-ms']).toBe(10001);
  });

  it('names the first bad origin of a list, wherever it came from', () => {
    expect(message(() => resolve({ env: { WIRECAM_ALLOWED_ORIGIN: 'https://a.example,https://b.example/x' } }))).toMatch(/^WIRECAM_ALLOWED_ORIGIN: expected one or more origins .*, got "https:\/\/b\.example\/x"$/);
  });

  it('refuses an idle timeout equal to the heartbeat, naming both with their sources', () => {
    expect(message(() => resolve({ argv: ['--heartbeat-ms', '5000'], file: { 'idle-timeout-ms': 5000 }, fileName: 'w.json' }))).toMatch(
      /^w\.json: idle-timeout-ms \(5000\) must be greater than --heartbeat-ms \(5000\): /,
    );
  });

  it('takes JSON types in a file as their kind, and a pattern string from a number', () => {
    const { config } = resolve({ file: { demo: true, port: 9000, workers: 4, 'allowed-origin': 'https://a.example', 'producer-token': ['t1', 't2'] } });
    expect(config).toMatchObject({ demo: true, port: 9000, workers: '4', 'allowed-origin': ['https://a.example'], 'producer-token': ['t1', 't2'] });
  });

  it('refuses a file value of another JSON type, which a flag or variable would take as text', () => {
    for (const [key, value, expected] of [
      ['demo', 'yes', /demo: expected true or false as a JSON boolean, got "yes"/],
      ['demo', 1, /demo: expected true or false as a JSON boolean, got 1/],
      ['port', '8765', /port: expected an integer from 0 to 65535 as a JSON number, got "8765"/],
      ['host', 1, /host: expected a non-empty string, got 1/],
      ['allowed-origin', 5, /allowed-origin: expected one or more origins .*, got 5/],
    ] as const) {
      expect(message(() => resolve({ file: { [key]: value } })), `${key}: ${JSON.stringify(value)}`).toMatch(expected);
    }
    // The same text as a flag or variable is fine: there everything is text.
    expect(resolve({ env: { WIRECAM_DEMO: 'yes' }, argv: ['--port', '8765'] }).config).toMatchObject({ demo: true, port: 8765 });
  });

  it('checks the relation once the file is read: a file may fix what flags and defaults alone would break', () => {
    const path = join(tempDir(), 'wirecam.json');
    writeFileSync(path, JSON.stringify({ 'idle-timeout-ms': 300_000 }));
    const { config } = resolveWithFile(SERVE_SETTINGS, { argv: ['--config', path, '--heartbeat-ms', '120000'], env: {} });
    expect(config['idle-timeout-ms']).toBe(300_000);
    expect(message(() => resolveWithFile(SERVE_SETTINGS, { argv: ['--heartbeat-ms', '120000'], env: {} }))).toMatch(/must be greater than --heartbeat-ms \(120000\)/);
  });
});
