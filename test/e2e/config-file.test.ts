// The configuration file (--config / WIRECAM_CONFIG) with real processes: precedence flags >
// environment > file > defaults, one-line errors naming the file, the setting and the reason
// (and nothing started or created), and `wirecam config --print` with sources and masking.
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { runCli, startServer, stopAllProcesses, stopProcess } from '../helpers/processes.js';
import { connect, closeAllClients } from '../helpers/clients.js';
import { tempDir, removeTempDirs } from '../helpers/tmp.js';
import { queryStore } from '../helpers/store.js';

afterEach(async () => {
  closeAllClients();
  await stopAllProcesses();
});
afterAll(() => removeTempDirs());


function writeJson(dir: string, name: string, value: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, typeof value === 'string' ? value : JSON.stringify(value, null, 2));
  return path;
}

async function hello(url: string) {
  const client = await connect(url, { protocols: ['wirecam.v1.json'] });
  return client.waitForMessage((m) => m.type === 'hello', 'hello');
}

describe('serve --config', () => {
  it('takes settings from the file, below the environment and flags', async () => {
    const dir = tempDir();
    const db = join(dir, 'from-file', 'camera.db');
    const file = writeJson(dir, 'wirecam.json', { db, 'max-hz': 7, 'heartbeat-ms': 1234, 'log-level': 'debug' });

    const fromFile = await startServer(['--config', file]);
    expect(await hello(fromFile.url)).toMatchObject({ max_hz: 7, heartbeat_ms: 1234 });
    // The store is where the file said.
    expect(queryStore(db, "SELECT name FROM sqlite_master WHERE name = 'camera_updates'")).toHaveLength(1);
    await stopProcess(fromFile);

    // WIRECAM_CONFIG names the file too; the environment beats it, a flag beats both.
    const overridden = await startServer(['--heartbeat-ms', '3000', '--log-level', 'info'], {
      WIRECAM_CONFIG: file,
      WIRECAM_MAX_HZ: '5',
      WIRECAM_HEARTBEAT_MS: '2000',
    });
    expect(await hello(overridden.url)).toMatchObject({ max_hz: 5, heartbeat_ms: 3000 });
    expect(overridden.logs().find((l) => typeof l.msg === 'string' && l.msg.startsWith('listening'))).toMatchObject({ db, config: file });
    await stopProcess(overridden);
  });

  const bad: Array<[string, unknown, RegExp]> = [
    ['a value of the wrong type', { port: 'eighty' }, /bad\.json: port: expected an integer from 0 to 65535, got "eighty"/],
    ['a value out of range', { 'max-hz': 50000 }, /bad\.json: max-hz: expected a number from 1 to 10000, got 50000/],
    ['a bad boolean', { demo: 'maybe' }, /bad\.json: demo: expected true or false, got "maybe"/],
    ['an unknown log level', { 'log-level': 'loud' }, /bad\.json: log-level: expected one of fatal, error, warn, info, debug, trace, silent, got "loud"/],
    ['an unknown setting, with a suggestion', { maxHz: 30 }, /bad\.json: unknown setting "maxHz" \(did you mean "max-hz"\?\)/],
    ['a file naming another file', { config: 'other.json' }, /bad\.json: config: a configuration file cannot name another one/],
    ['JSON with a trailing comma', '{\n  "port": 8765,\n}\n', /bad\.json: not valid JSON: .* at line 3 column 1/],
    ['JSON that is not an object', '[1, 2]', /bad\.json: expected a JSON object of settings by name/],
    ['an empty file', '', /bad\.json: not valid JSON/],
  ];

  it.each(bad)('refuses %s with one line naming the setting and the reason, and starts nothing', async (_what, content, message) => {
    const dir = tempDir();
    const db = join(dir, 'store', 'camera.db');
    // A valid db in the file: the bad line must stop everything before the store is touched.
    const value = typeof content === 'string' ? content : { db, ...(content as object) };
    const file = writeJson(dir, 'bad.json', value);
    const result = await runCli(['serve', '--port', '0', '--config', file]);
    expect(result.code).toBe(2);
    expect(result.stderr).toHaveLength(1);
    expect(result.stderr[0]).toMatch(/^wirecam serve: /);
    expect(result.stderr[0]).toMatch(message);
    expect(result.stdout).toEqual([]);
    expect(existsSync(join(dir, 'store'))).toBe(false);
  });

  it('refuses a bad line even where a flag overrides it', async () => {
    const file = writeJson(tempDir(), 'bad.json', { port: 'eighty' });
    const result = await runCli(['serve', '--port', '0', '--config', file]);
    expect(result.code).toBe(2);
    expect(result.stderr).toEqual([expect.stringMatching(/port: expected an integer/)]);
  });

  it('refuses a file that does not exist', async () => {
    const missing = join(tempDir(), 'nope.json');
    const result = await runCli(['serve', '--config', missing]);
    expect(result.code).toBe(2);
    expect(result.stderr).toEqual([expect.stringContaining(`${missing}: cannot read the configuration file: no such file`)]);
  });
});

describe('wirecam config --print', () => {
  function rows(stdout: string[]): Map<string, { value: string; source: string }> {
    const table = new Map<string, { value: string; source: string }>();
    for (const line of stdout.filter((l) => !l.startsWith('#'))) {
      const [name, value, ...source] = line.split(/\s{2,}/);
      table.set(name!, { value: value!, source: source.join(' ') });
    }
    return table;
  }

  it('shows every setting with its effective value and source, secrets masked', async () => {
    const dir = tempDir();
    const file = writeJson(dir, 'wirecam.json', { port: 9100, 'max-hz': 30, host: '0.0.0.0', 'producer-token': 'file-secret' });
    const result = await runCli(['config', '--print', '--config', file, '--port', '9200'], {
      WIRECAM_MAX_HZ: '40',
      WIRECAM_PRODUCER_TOKEN: 'env-secret-token',
    });
    expect(result.code).toBe(0);
    expect(result.stderr).toEqual([]);
    const table = rows(result.stdout);
    expect(table.get('port')).toEqual({ value: '9200', source: 'flag --port' });
    expect(table.get('max-hz')).toEqual({ value: '40', source: 'env WIRECAM_MAX_HZ' });
    expect(table.get('host')).toEqual({ value: '0.0.0.0', source: `file ${file}` });
    expect(table.get('heartbeat-ms')).toEqual({ value: '10000', source: 'default' });
    expect(table.get('config')).toEqual({ value: file, source: 'flag --config' });
    expect(table.get('producer-token')).toEqual({ value: '***', source: 'env WIRECAM_PRODUCER_TOKEN' });
    expect(result.stdout.join('\n')).not.toMatch(/secret/);
    // Every serve setting is listed.
    expect(table.size).toBeGreaterThanOrEqual(19);
  });

  it('masks a secret from the file or a flag too, and shows an unset one as unset', async () => {
    const file = writeJson(tempDir(), 'wirecam.json', { 'producer-token': 'file-secret' });
    const fromFile = rows((await runCli(['config', '--print', '--config', file])).stdout);
    expect(fromFile.get('producer-token')).toEqual({ value: '***', source: `file ${file}` });
    const fromFlag = await runCli(['config', '--print', '--producer-token', 'flag-secret']);
    expect(rows(fromFlag.stdout).get('producer-token')).toEqual({ value: '***', source: 'flag --producer-token' });
    expect(fromFlag.stdout.join('\n')).not.toContain('flag-secret');
    expect(rows((await runCli(['config', '--print'])).stdout).get('producer-token')).toEqual({ value: '(unset)', source: 'default' });
  });

  it('checks the file as serve would, with the same one-line error', async () => {
    const file = writeJson(tempDir(), 'bad.json', { 'max-hz': 'fast' });
    const result = await runCli(['config', '--print', '--config', file]);
    expect(result.code).toBe(2);
    expect(result.stdout).toEqual([]);
    expect(result.stderr).toEqual([expect.stringMatching(/^wirecam config: .*bad\.json: max-hz: expected a number from 1 to 10000, got "fast"/)]);
  });

  it('accepts the README’s example file', async () => {
    const readme = readFileSync(fileURLToPath(new URL('../../README.md', import.meta.url)), 'utf8');
    const example = /```json\n([\s\S]*?)```/.exec(readme)![1]!;
    const file = writeJson(tempDir(), 'wirecam.json', example);
    const result = await runCli(['config', '--print', '--config', file]);
    expect(result.stderr).toEqual([]);
    expect(rows(result.stdout).get('max-hz')).toEqual({ value: '30', source: `file ${file}` });
  });

  it('needs --print', async () => {
    const result = await runCli(['config']);
    expect(result.code).toBe(2);
    expect(result.stderr).toEqual([expect.stringMatching(/^wirecam config: nothing to do: --print/)]);
  });
});
