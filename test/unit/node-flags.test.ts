// The service's V8 flags (src/node-flags.ts): every launcher passes them, and the fanout
// processes of --workers get them from the primary without overriding an operator's own.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SERVICE_NODE_FLAGS, withServiceFlags } from '../../src/node-flags.js';

const root = new URL('../../', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, root), 'utf8');

describe('SERVICE_NODE_FLAGS', () => {
  it('is passed by every launcher: the command’s shebang, npm start, the systemd unit', () => {
    const shebang = read('src/cli.ts').split('\n')[0]!;
    const start = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts.start!;
    const execStart = read('service/wirecam.service').split('\n').find((line) => line.startsWith('ExecStart='))!;
    expect(shebang).toMatch(/^#!\/usr\/bin\/env -S node /);
    for (const flag of SERVICE_NODE_FLAGS) {
      expect(shebang.split(' ')).toContain(flag);
      // `exec`: a SIGTERM to npm's PID reaches Node through npm's shell (without it, the shell
      // dies and the service runs on, orphaned).
      expect(start).toContain(`exec node ${SERVICE_NODE_FLAGS.join(' ')} dist/src/cli.js`);
      expect(execStart).toContain(`/usr/bin/node ${SERVICE_NODE_FLAGS.join(' ')} /opt/wirecam/dist/src/cli.js`);
    }
  });

  it('withServiceFlags adds the missing flags and keeps an operator’s own value', () => {
    expect(withServiceFlags([])).toEqual([...SERVICE_NODE_FLAGS]);
    expect(withServiceFlags(['--inspect'])).toEqual(['--inspect', ...SERVICE_NODE_FLAGS]);
    expect(withServiceFlags(['--max-semi-space-size=8'])).toEqual(['--max-semi-space-size=8']);
    expect(withServiceFlags(['--max-semi-space-size=8', '--inspect'])).toEqual(['--max-semi-space-size=8', '--inspect']);
  });
});
