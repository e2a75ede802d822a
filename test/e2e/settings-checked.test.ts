// Settings that would start a service that cannot work, or that do not say what they seem to,
// stop `wirecam serve` at once with one line naming the setting and what it expects (status 2).
import { afterAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../helpers/processes.js';
import { tempDir, removeTempDirs } from '../helpers/tmp.js';

afterAll(() => removeTempDirs());

/** `wirecam serve` with `args` (a fresh store, any port): its status and stderr lines. */
async function serve(args: string[], env: NodeJS.ProcessEnv = {}) {
  return runCli(['serve', '--port', '0', '--db', join(tempDir(), 'camera.db'), ...args], env);
}

describe('wirecam serve refuses at start', () => {
  const cases: Array<{ what: string; args: (dir: string) => string[]; env?: NodeJS.ProcessEnv; line: RegExp }> = [
    {
      what: 'an idle timeout not above the heartbeat',
      args: () => ['--idle-timeout-ms', '1000', '--heartbeat-ms', '5000'],
      line: /^wirecam serve: --idle-timeout-ms \(1000\) must be greater than --heartbeat-ms \(5000\): a client that only answers pings is heard once per heartbeat/,
    },
    {
      what: 'a heartbeat from the environment above the default idle timeout',
      args: () => [],
      env: { WIRECAM_HEARTBEAT_MS: '120000' },
      line: /^wirecam serve: --idle-timeout-ms \(default\) \(60000\) must be greater than WIRECAM_HEARTBEAT_MS \(120000\)/,
    },
    {
      what: 'a node id outside its pattern, without --redis',
      args: () => ['--node-id', 'bad/id'],
      line: /^wirecam serve: --node-id: expected 1 to 64 of A-Z a-z 0-9 _ \. : -, got "bad\/id"/,
    },
    {
      what: 'an allowed origin that is not an origin',
      args: () => ['--allowed-origin', 'https://ok.example', '--allowed-origin', 'notanorigin'],
      line: /^wirecam serve: --allowed-origin: expected one or more origins scheme:\/\/host\[:port\] .*, got "notanorigin"/,
    },
    {
      what: 'an allowed origin with a path',
      args: () => ['--allowed-origin', 'https://shell.example/app'],
      line: /^wirecam serve: --allowed-origin: expected .*, got "https:\/\/shell\.example\/app"/,
    },
    {
      what: 'a configuration file whose boolean is the string "no"',
      args: (dir) => {
        const file = join(dir, 'wirecam.json');
        writeFileSync(file, JSON.stringify({ demo: 'no' }));
        return ['--config', file];
      },
      line: /^wirecam serve: .*wirecam\.json: demo: expected true or false as a JSON boolean, got "no"/,
    },
    {
      what: 'a configuration file whose number is a string',
      args: (dir) => {
        const file = join(dir, 'wirecam.json');
        writeFileSync(file, JSON.stringify({ 'max-hz': '30' }));
        return ['--config', file];
      },
      line: /^wirecam serve: .*wirecam\.json: max-hz: expected a number from 1 to 10000 as a JSON number, got "30"/,
    },
  ];
  for (const { what, args, env, line } of cases) {
    it(what, async () => {
      const { code, stderr } = await serve(args(tempDir()), env);
      expect(code, stderr.join('\n')).toBe(2);
      expect(stderr).toHaveLength(1);
      expect(stderr[0]).toMatch(line);
    });
  }
});
