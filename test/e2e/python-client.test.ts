// Any MessagePack library in any language must decode the same values as the JSON
// (docs/protocol.md section 2): Python's msgpack reads floats as floats and integers as integers.
import { afterAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startProcess, startServer, stopAllProcesses, stopProcess } from '../helpers/processes.js';
import { writeRowsFromAnotherProcess } from '../helpers/rows.js';
import { tempDir, removeTempDirs } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

const PYTHON = '/usr/bin/python3';
const CLIENT = fileURLToPath(new URL('../clients/python_msgpack_client.py', import.meta.url));
const available =
  existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import websockets, msgpack'], { stdio: 'ignore' }).status === 0;
if (!available && process.env.WIRECAM_CI) {
  throw new Error('CI needs /usr/bin/python3 with python3-websockets and python3-msgpack (.ci/run installs them)');
}
if (!available) {
  console.warn('SKIPPED python client test: needs /usr/bin/python3 with python3-websockets and python3-msgpack (apt-get install python3-websockets python3-msgpack; .ci/run installs them)');
}

afterAll(async () => {
  await stopAllProcesses();
  removeTempDirs();
});

describe.skipIf(!available)('an independent Python MessagePack client', () => {
  it('decodes camera updates to the same values and types as the JSON', async () => {
    const db = join(tempDir(), 'camera.db');
    const server = await startServer(['--db', db]);
    const expectedSeq = 1;
    const python = startProcess([CLIENT, server.url, String(expectedSeq)], { command: PYTHON });
    await waitFor(() => python.stdout.some((l) => l.includes('"ready"')), 'the python client to connect');
    const { lastId } = await writeRowsFromAnotherProcess({
      db,
      rows: [{ camera: 'main', x: 100, y: -2.5, zoom: 1, target_x: null, target_y: 7, target_zoom: null, ts: 1_795_000_000_123 }],
    });
    expect(lastId).toBe(expectedSeq);
    const { code } = await python.exited;
    expect(code, python.stderr.join('\n')).toBe(0);
    const lines = python.stdout.filter((l) => l.startsWith('{"message"')).map((l) => JSON.parse(l) as { message: Record<string, unknown>; types: Record<string, string> });
    const hello = lines[0]!;
    expect(hello.message).toMatchObject({ type: 'hello', encoding: 'msgpack', max_hz: 60 });
    const update = lines.at(-1)!;
    expect(update.message).toEqual({
      type: 'camera_update', camera: 'main', seq: lastId, x: 100, y: -2.5, zoom: 1, target_x: 100, target_y: 7, target_zoom: 1, timestamp: 1_795_000_000_123,
    });
    expect(update.types).toEqual({
      type: 'str', camera: 'str', seq: 'int', x: 'float', y: 'float', zoom: 'float',
      target_x: 'float', target_y: 'float', target_zoom: 'float', timestamp: 'int',
    });
    await stopProcess(server);
  });
});
