// The command line: bad invocations get one line and a non-zero exit, never a stack trace;
// flags win over the environment; `simulate` writes a smooth path another process can serve.
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { runCli, startServer, stopAllProcesses, stopProcess } from '../helpers/processes.js';
import { connect, closeAllClients } from '../helpers/clients.js';
import { tempDir, removeTempDirs } from '../helpers/tmp.js';
import { queryStore } from '../helpers/store.js';
import { waitFor } from '../helpers/wait.js';

afterEach(async () => {
  closeAllClients();
  await stopAllProcesses();
});
afterAll(() => removeTempDirs());


function expectOneLineError(result: { code: number | null; stderr: string[] }, pattern: RegExp) {
  expect(result.code).not.toBe(0);
  expect(result.stderr).toHaveLength(1);
  expect(result.stderr[0]).toMatch(pattern);
  expect(result.stderr.join('\n')).not.toMatch(/\n\s+at /);
}

describe('bad invocations', () => {
  it('rejects an unknown flag', async () => {
    const result = await runCli(['serve', '--colour', 'blue']);
    expectOneLineError(result, /unknown flag --colour/);
    expect(result.code).toBe(2);
  });

  it('rejects a non-numeric port, from a flag or the environment', async () => {
    expectOneLineError(await runCli(['serve', '--port', 'eighty']), /--port: expected an integer from 0 to 65535, got "eighty"/);
    expectOneLineError(await runCli(['serve'], { WIRECAM_PORT: 'x' }), /WIRECAM_PORT: expected an integer/);
  });

  it('rejects a port in use', async () => {
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const result = await runCli(['serve', '--port', String(port), '--db', join(tempDir(), 'a.db')]);
      expectOneLineError(result, new RegExp(`port ${port} on 127.0.0.1 is already in use`));
      expect(result.code).toBe(1);
    } finally {
      blocker.close();
    }
  });

  it('rejects a database path that cannot be created, naming the path', async () => {
    const dir = tempDir();
    const file = join(dir, 'plain-file');
    writeFileSync(file, 'not a folder');
    const db = join(file, 'sub', 'camera.db');
    const result = await runCli(['serve', '--port', '0', '--db', db]);
    expectOneLineError(result, new RegExp(`cannot open database ${db.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
  });

  it('rejects a file that is not a database, naming the path', async () => {
    const db = join(tempDir(), 'garbage.db');
    writeFileSync(db, 'this is not SQLite '.repeat(100));
    const result = await runCli(['serve', '--port', '0', '--db', db]);
    expectOneLineError(result, /cannot open database .*garbage\.db: SQLITE_NOTADB: file is not a database/);
  });

  it('rejects an unknown command and a missing flag value', async () => {
    expectOneLineError(await runCli(['serv']), /unknown command "serv"/);
    expectOneLineError(await runCli(['serve', '--db']), /--db needs a value/);
  });
});

describe('configuration', () => {
  it('takes settings from WIRECAM_* variables, with flags winning', async () => {
    const server = await startServer(['--db', join(tempDir(), 'a.db'), '--max-hz', '7'], { WIRECAM_MAX_HZ: '5', WIRECAM_HEARTBEAT_MS: '1234' });
    const client = await connect(server.url, { protocols: ['wirecam.v1.json'] });
    const hello = await client.waitForMessage((m) => m.type === 'hello', 'hello');
    expect(hello).toMatchObject({ max_hz: 7, heartbeat_ms: 1234 });
    await stopProcess(server);
  });

  it('creates the database folder when missing', async () => {
    const db = join(tempDir(), 'deep', 'er', 'camera.db');
    const server = await startServer(['--db', db]);
    expect(queryStore(db, "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").map((r) => r.name)).toEqual(
      expect.arrayContaining(['camera_updates', 'tile_updates']),
    );
    await stopProcess(server);
  });
});

describe('wirecam simulate', () => {
  it('writes a smooth camera path from its own process, which the server broadcasts', async () => {
    const db = join(tempDir(), 'sim.db');
    const server = await startServer(['--db', db]);
    const client = await connect(server.url, { protocols: ['wirecam.v1.msgpack'], query: 'camera=sim' });
    const result = await runCli(['simulate', '--db', db, '--rate', '50', '--camera', 'sim', '--duration', '1']);
    expect(result.code).toBe(0);
    const rows = queryStore<{ x: number; y: number; zoom: number; target_x: number }>(db, "SELECT x, y, zoom, target_x FROM camera_updates WHERE camera = 'sim' ORDER BY id");
    expect(rows.length).toBeGreaterThanOrEqual(45);
    expect(rows.length).toBeLessThanOrEqual(52);
    // Smooth: consecutive states are close, and the target leads the position.
    for (let i = 1; i < rows.length; i++) {
      expect(Math.hypot(rows[i]!.x - rows[i - 1]!.x, rows[i]!.y - rows[i - 1]!.y)).toBeLessThan(20);
      expect(Math.abs(rows[i]!.zoom - rows[i - 1]!.zoom)).toBeLessThan(0.05);
    }
    expect(rows.some((r) => r.target_x !== r.x)).toBe(true);
    const lastId = queryStore<{ id: number }>(db, "SELECT MAX(id) AS id FROM camera_updates WHERE camera = 'sim'")[0]!.id;
    await client.waitForMessage((m) => m.type === 'camera_update' && m.seq === lastId, 'the last simulated state');
    expect(result.stderr.at(-1)).toMatch(/wrote \d+ camera states/);
    await stopProcess(server);
  });

  it('rejects an invalid camera id', async () => {
    expectOneLineError(await runCli(['simulate', '--db', join(tempDir(), 'x.db'), '--camera', 'bad id', '--duration', '1']), /not a valid camera id/);
  });
});

describe('wirecam serve --demo', () => {
  it('moves the demo camera at once, for a client with no configuration at all', async () => {
    const server = await startServer(['--db', join(tempDir(), 'demo.db'), '--demo']);
    const client = await connect(server.url);
    await waitFor(() => client.cameraUpdates('main').length >= 10, 'ten demo updates');
    const [a, b] = client.cameraUpdates('main').slice(-2);
    expect(b!.seq as number).toBeGreaterThan(a!.seq as number);
    expect(b!.x).not.toBe(a!.x);
    await stopProcess(server);
  });
});
