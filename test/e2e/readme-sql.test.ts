// The SQL the README gives producers, run by the sqlite3 shell (another process, another
// SQLite build), reaches clients: the documentation stays true.
import { afterAll, describe, expect, it } from 'vitest';
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startProcess, startServer, stopAllProcesses } from '../helpers/processes.js';
import { connect, closeAllClients } from '../helpers/clients.js';
import { tempDir, removeTempDirs } from '../helpers/tmp.js';

const SQLITE3 = '/usr/bin/sqlite3';
const available = existsSync(SQLITE3);
if (!available && process.env.WIRECAM_CI) throw new Error('CI needs the sqlite3 shell (.ci/run installs it)');
if (!available) console.warn('SKIPPED README SQL test: needs the sqlite3 shell (apt-get install sqlite3)');

afterAll(async () => {
  closeAllClients();
  await stopAllProcesses();
  removeTempDirs();
});

function readmeSql(): string {
  const readme = readFileSync(fileURLToPath(new URL('../../README.md', import.meta.url)), 'utf8');
  const block = /```sql\n([\s\S]*?)```/.exec(readme);
  if (!block) throw new Error('README has no sql block');
  return block[1]!;
}

describe.skipIf(!available)('the README’s producer SQL', () => {
  it('inserts a camera state and a tile that every client receives', async () => {
    const db = join(tempDir(), 'camera.db');
    const server = await startServer(['--db', db]);
    const client = await connect(server.url, { protocols: ['wirecam.v1.json'] });
    const before = Date.now();
    const shell = startProcess([db], { command: SQLITE3 });
    shell.child.stdin!.end(readmeSql());
    expect((await shell.exited).code, shell.stderr.join('\n')).toBe(0);
    const update = await client.waitForMessage((m) => m.type === 'camera_update', 'the camera state');
    expect(update).toMatchObject({ camera: 'main', x: 120.5, y: -40, zoom: 1.25, target_x: 130, target_y: -38, target_zoom: 1.3 });
    expect(update.timestamp as number).toBeGreaterThanOrEqual(before - 5);
    expect(update.timestamp as number).toBeLessThanOrEqual(Date.now());
    expect(await client.waitForMessage((m) => m.type === 'tile_update', 'the tile')).toMatchObject({ x: 3, y: -7, brick: 'stone.png' });
  });
});
