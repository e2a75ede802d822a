// `wirecam serve --db PATH` at start: the path is resolved once and every thread opens that
// one file; a path that cannot hold a database stops the service at once (well within 2 s),
// with one line naming the path and the reason, and a non-zero exit. Real processes.
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { SCHEMA_SQL } from '../../src/store/schema.js';
import { CLI, startProcess, startServer, stopAllProcesses, stopProcess } from '../helpers/processes.js';
import { connect, closeAllClients } from '../helpers/clients.js';
import { writeRowsFromAnotherProcess } from '../helpers/rows.js';
import { tempDir, removeTempDirs } from '../helpers/tmp.js';

afterEach(async () => {
  closeAllClients();
  await stopAllProcesses();
});
afterAll(() => removeTempDirs());

/** The bound on a refused start, from spawn to exit, Node's own start-up included. */
const FAIL_WITHIN_MS = 2_000;
/** What Node's start-up may take inside that bound; on a machine so loaded that it takes longer, the bound grows by the excess. */
const STARTUP_ALLOWANCE_MS = 1_000;

/** How long `wirecam --version` takes from spawn to exit now: Node's start-up under the current load. */
async function startupMs(): Promise<number> {
  const began = performance.now();
  await startProcess([CLI, '--version']).exited;
  return performance.now() - began;
}

/** Runs `wirecam serve --db db` and waits (bounded) for it to end on its own. */
async function refusedStart(db: string, options: { uid?: number; gid?: number } = {}) {
  const before = await startupMs();
  const began = performance.now();
  const started = startProcess([CLI, 'serve', '--port', '0', '--log-level', 'warn', '--db', db], options);
  const result = await Promise.race([started.exited, new Promise<null>((resolve) => setTimeout(() => resolve(null), 15_000))]);
  const elapsedMs = performance.now() - began;
  // The load can change during the run: the slower of the start-ups measured around it counts.
  const boundMs = FAIL_WITHIN_MS + Math.max(0, Math.max(before, await startupMs()) - STARTUP_ALLOWANCE_MS);
  if (result === null) {
    await stopProcess(started, 'SIGKILL');
    throw new Error(`wirecam serve --db ${db} still running after 15 s; stdout: ${started.stdout.join(' | ')}`);
  }
  return { code: result.code, elapsedMs, boundMs, stderr: started.stderr.filter((l) => l !== ''), stdout: started.stdout.filter((l) => l !== '') };
}

/** The one line of a refused start: the path and the reason. */
function expectRefused(run: Awaited<ReturnType<typeof refusedStart>>, path: string, reason: RegExp): void {
  expect(run.stderr).toHaveLength(1);
  expect(run.stderr[0]).toContain(`wirecam serve: cannot open database ${path}: `);
  expect(run.stderr[0]).toMatch(reason);
  expect(run.code).not.toBe(0);
  expect(run.code).not.toBeNull();
  expect(run.stdout.some((l) => l.includes('listening on'))).toBe(false);
  expect(run.elapsedMs).toBeLessThan(run.boundMs);
}

describe('wirecam serve --db: a path that cannot hold a database stops the start', () => {
  it('a folder on the way that cannot be created (root cannot either: /proc)', async () => {
    const path = '/proc/wirecam-no-such-folder/deeper/camera.db';
    expectRefused(await refusedStart(path), path, /cannot create its folder \/proc\/wirecam-no-such-folder \(ENOENT/);
  });

  it('a folder on the way that is a file', async () => {
    const file = join(tempDir(), 'plain-file');
    writeFileSync(file, 'not a folder\n');
    for (const path of [join(file, 'camera.db'), join(file, 'deeper', 'camera.db'), '/etc/passwd/x.db']) {
      const blocker = path.startsWith('/etc/') ? '/etc/passwd' : file;
      expectRefused(await refusedStart(path), path, new RegExp(`: ${blocker} is not a folder$`));
    }
  });

  it('a folder given as the database', async () => {
    const dir = tempDir();
    expectRefused(await refusedStart(dir), dir, /it is a folder, not a database file$/);
  });

  it('a device given as the database', async () => {
    expectRefused(await refusedStart('/dev/null'), '/dev/null', /it is not a regular file/);
  });

  it('a file that is not SQLite, which is left as it was', async () => {
    const path = join(tempDir(), 'notes.db');
    writeFileSync(path, 'these are notes, not a database; '.repeat(50));
    expectRefused(await refusedStart(path), path, /SQLITE_NOTADB: file is not a database$/);
    expect(existsSync(`${path}-wal`)).toBe(false);
  });

  it('a folder where the file cannot be created (root cannot either: /proc)', async () => {
    expectRefused(await refusedStart('/proc/camera.db'), '/proc/camera.db', /cannot create the file \((ENOENT|EACCES|EPERM)/);
  });

  // As root, permissions do not stop anyone: the read-only folder is tried as `nobody`.
  const asRoot = process.getuid?.() === 0;
  const nobody = asRoot ? { uid: 65534, gid: 65534 } : null;
  it('a read-only folder (as an unprivileged user)', async () => {
    const dir = tempDir();
    chmodSync(dir, 0o755);
    const readOnly = join(dir, 'read-only');
    mkdirSync(readOnly, { mode: 0o555 });
    chmodSync(readOnly, 0o555);
    const path = join(readOnly, 'camera.db');
    if (!asRoot) console.warn('not root: the read-only folder is tried as the current user');
    const run = await refusedStart(path, nobody ?? {});
    expectRefused(run, path, /cannot create the file \(EACCES/);
    // And one level deeper: the folder cannot be created.
    const deeper = join(readOnly, 'sub', 'camera.db');
    expectRefused(await refusedStart(deeper, nobody ?? {}), deeper, new RegExp(`cannot create its folder ${join(readOnly, 'sub')} \\(EACCES`));
  });

  it('a database file that cannot be written (as an unprivileged user)', async () => {
    const dir = tempDir();
    chmodSync(dir, 0o777); // the folder is writable (-wal and -shm can be made): only the file is not
    const path = join(dir, 'camera.db');
    const store = new Database(path);
    store.pragma('journal_mode = WAL');
    store.exec(SCHEMA_SQL); // wirecam's own: opening it writes nothing, only the check does
    store.close();
    chmodSync(path, asRoot ? 0o644 : 0o444); // root's file: nobody may read it, not write it
    if (!asRoot) console.warn('not root: the read-only file is tried as the current user');
    expectRefused(await refusedStart(path, nobody ?? {}), path, /SQLITE_READONLY/);
  });
});

describe('wirecam serve --db: one resolved path for every thread', () => {
  it('takes `..` through a missing folder lexically: the folder after it is created, the service reads and writes that file', async () => {
    const dir = tempDir();
    const given = `${dir}/missing/../store/camera.db`;
    const resolved = join(dir, 'store', 'camera.db');
    const server = await startServer(['--db', given]);
    expect(server.logs().find((l) => typeof l.msg === 'string' && l.msg.startsWith('listening on'))).toMatchObject({ db: resolved });
    expect(existsSync(resolved)).toBe(true);
    expect(existsSync(join(dir, 'missing'))).toBe(false);
    // The workers read that file: a row another process writes there reaches a client.
    const client = await connect(server.url, { protocols: ['wirecam.v1.json'], query: 'camera=*' });
    await writeRowsFromAnotherProcess({ db: resolved, rows: [{ camera: 'resolved', x: 7, y: 8, zoom: 1 }] });
    await client.waitForMessage((m) => m.type === 'camera_update' && m.camera === 'resolved', 'the row written to the resolved path', 10_000);
    const health = await fetch(`${server.httpUrl}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok', store: 'ok' });
    expect(server.logs().some((l) => typeof l.msg === 'string' && /missing|cannot be read/.test(l.msg))).toBe(false);
    const { code } = await stopProcess(server);
    expect(code).toBe(0);
  });
});
