// `wirecam tail`: one line per update as rows are written by another process, JSON lines
// with --json, the encoding and cameras asked for, and one-line errors for bad flags.
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { CLI, startProcess, startServer, stopAllProcesses, stopProcess, type ServerProcess } from '../helpers/processes.js';
import { writeRowsFromAnotherProcess } from '../helpers/rows.js';
import { tempDir, removeTempDirs } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

afterEach(() => stopAllProcesses());
afterAll(() => removeTempDirs());

async function serve(): Promise<{ server: ServerProcess; db: string }> {
  const db = join(tempDir(), 'camera.db');
  return { server: await startServer(['--db', db]), db };
}

function tail(args: string[]) {
  return startProcess([CLI, 'tail', ...args]);
}

describe('wirecam tail', () => {
  it('prints one line per update as rows arrive, tiles included', async () => {
    const { server, db } = await serve();
    const run = tail(['--url', server.url]);
    await waitFor(() => run.stderr.some((l) => l.includes('connected to')), 'tail to connect');
    expect(run.stderr.join('\n')).toMatch(/\(msgpack\)/);
    const { lastId, lastTileId } = await writeRowsFromAnotherProcess({
      db,
      rows: [
        { camera: 'main', x: 1.5, y: -2, zoom: 1.25, target_x: 3, target_y: -2, target_zoom: 1.25 },
        { camera: 'overview', x: 0, y: 0, zoom: 0.5 },
        { table: 'tile_updates', x: 3, y: -7, brick: 'stone.png' },
      ],
    });
    await waitFor(() => run.stdout.length >= 3, 'three lines');
    expect(run.stdout[0]).toMatch(new RegExp(`^\\d\\d:\\d\\d:\\d\\d\\.\\d{3} main #${lastId - 1}  x=1\\.50 y=-2\\.00 zoom=1\\.250  → 3\\.00, -2\\.00 ×1\\.250  \\d+ ms$`));
    expect(run.stdout[1]).toMatch(new RegExp(`overview #${lastId}  x=0\\.00 y=0\\.00 zoom=0\\.500  \\d+ ms$`));
    expect(run.stdout[2]).toMatch(new RegExp(`tile #${lastTileId}  \\(3, -7\\) stone\\.png  \\d+ ms$`));
    const { code } = await stopProcess(run, 'SIGINT');
    expect(code).toBe(0);
    await stopProcess(server);
  });

  it('prints the messages as JSON lines with --json, over the encoding and cameras asked for', async () => {
    const { server, db } = await serve();
    const run = tail(['--url', server.url, '--json', '--encoding', 'json', '--camera', 'side', '--max-hz', '5', '--count', '2']);
    await waitFor(() => run.stderr.some((l) => l.includes('up to')), 'hello');
    expect(run.stderr.join('\n')).toMatch(/connected to .* \(json\)/);
    expect(run.stderr.join('\n')).toMatch(/cameras side, up to 5 Hz/);
    const ts = 1_795_000_000_123;
    const { lastId } = await writeRowsFromAnotherProcess({
      db,
      rows: [
        { camera: 'main', x: 1, y: 1, zoom: 1, ts },
        { camera: 'side', x: 2, y: 3, zoom: 4, ts },
      ],
    });
    await waitFor(() => run.stdout.length >= 1, 'the side camera');
    expect(JSON.parse(run.stdout[0]!)).toEqual({
      type: 'camera_update', camera: 'side', seq: lastId, x: 2, y: 3, zoom: 4, target_x: 2, target_y: 3, target_zoom: 4, timestamp: ts,
    });
    // --count 2: the second update ends it, with status 0.
    await writeRowsFromAnotherProcess({ db, rows: [{ camera: 'side', x: 5, y: 5, zoom: 1 }] });
    const { code } = await run.exited;
    expect(code).toBe(0);
    expect(run.stdout.filter((l) => l !== '')).toHaveLength(2);
    await stopProcess(server);
  });

  it('refuses bad flags with one line', async () => {
    for (const [args, pattern] of [
      [['--encoding', 'xml'], /--encoding: expected one of json, msgpack/],
      [['--camera', 'bad id'], /not a valid camera id/],
      [['--url', 'http://127.0.0.1:1/'], /expected a ws:\/\/ or wss:\/\/ address/],
    ] as const) {
      const run = tail([...args]);
      const { code } = await run.exited;
      expect(code).toBe(2);
      expect(run.stderr.filter((l) => l !== '')).toHaveLength(1);
      expect(run.stderr[0]).toMatch(pattern);
    }
  });
});
