// `wirecam serve --source-cmd`: a real child program on a pseudo-terminal, its lines stored
// and broadcast, invalid lines counted and logged at a bounded rate, the program restarted
// when it exits and stopped with the server.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { alive, startServer, stopAllProcesses, stopProcess } from '../helpers/processes.js';
import { scrape, type Scrape } from '../helpers/metrics.js';
import { connect, closeAllClients } from '../helpers/clients.js';
import { queryStore } from '../helpers/store.js';
import { redisAvailable, startRedis, stopRedis, type RedisServer } from '../helpers/redis.js';
import { requirePty } from '../helpers/terminal.js';
import { tempDir, removeTempDirs } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';
import { holdWriteLock } from '../helpers/lock.js';

const PRODUCER = fileURLToPath(new URL('../helpers/pty-producer.mjs', import.meta.url));
const hasPty = requirePty('the --source-cmd test');

afterEach(async () => {
  closeAllClients();
  await stopAllProcesses();
});
afterAll(() => removeTempDirs());

describe.skipIf(!hasPty)('wirecam serve --source-cmd', () => {
  it('stores and broadcasts each valid line, counts the invalid ones, restarts the command, stops it on shutdown', async () => {
    const dir = tempDir();
    const db = join(dir, 'camera.db');
    const command = `'${process.execPath}' '${PRODUCER}' '${join(dir, 'runs.txt')}'`;
    const server = await startServer(['--db', db, '--source-cmd', command]);
    const client = await connect(server.url, { protocols: ['wirecam.v1.msgpack'], query: 'camera=*' });

    // The second run keeps printing: everything of the first run has been handled by then.
    await client.waitForMessage((m) => m.type === 'camera_update' && m.camera === 'pty-live', 'a line of the second run', 15_000);
    const ptyStates = () => client.cameraUpdates('pty');
    await waitFor(() => ptyStates().length >= 2, 'the pty camera of both runs');
    expect(ptyStates().map((m) => [m.x, m.y, m.zoom, m.target_x])).toEqual([
      [1, 1, 1.25, 1.5], // y = 1: the program saw a terminal
      [2, 1, 1.25, 2.5],
    ]);
    expect(client.cameraUpdates('pty-json').map((m) => m.x)).toEqual([10, 20]);
    const tiles = client.ofType('tile_update');
    expect(tiles.map((t) => [t.x, t.y, t.brick])).toEqual([
      [1, -2, 'stone wall'],
      [2, -2, 'stone wall'],
    ]);
    // Through the store, like every other producer's update.
    const stored = queryStore<{ id: number; x: number }>(db, "SELECT id, x FROM camera_updates WHERE camera = 'pty' ORDER BY id");
    expect(stored.map((r) => r.x)).toEqual([1, 2]);
    expect(ptyStates().map((m) => m.seq)).toEqual(stored.map((r) => r.id));

    const logs = server.logs();
    const started = logs.filter((l) => l.msg === 'source command started');
    expect(started.map((l) => l.run)).toEqual([1, 2]);
    const exited = logs.find((l) => l.msg === 'source command exited; restarting')!;
    expect(exited).toMatchObject({ code: 3, runs: 1, updates: 3, rejected: 6 });
    expect(exited.restart_in_ms as number).toBeGreaterThan(0);
    // One line per reason and interval, however often it happens.
    const skipped = logs.filter((l) => l.msg === 'skipped invalid line from --source-cmd');
    expect(skipped.map((l) => l.reason).sort()).toEqual(['bad_camera', 'bad_json', 'bad_zoom', 'non_finite', 'not_an_update']);
    expect(skipped.find((l) => l.reason === 'non_finite')).toMatchObject({ line: 'camera=pty x=abc y=1 zoom=1', level: 40 });

    const pid = started[1]!.pid as number;
    expect(alive(pid)).toBe(true);
    const { code } = await stopProcess(server);
    expect(code).toBe(0);
    expect(alive(pid)).toBe(false);
    expect(server.logs().some((l) => l.msg === 'source command stopped')).toBe(true);
  });

  it('restarts a command that keeps failing, with growing delays', async () => {
    const db = join(tempDir(), 'fail.db');
    const server = await startServer(['--db', db, '--source-cmd', 'exit 7']);
    await waitFor(() => server.logs().filter((l) => l.msg === 'source command exited; restarting').length >= 2, 'two restarts');
    const delays = server.logs().filter((l) => l.msg === 'source command exited; restarting').map((l) => l.restart_in_ms as number);
    expect(delays[1]!).toBeGreaterThan(delays[0]!);
    expect(server.logs().find((l) => l.msg === 'source command exited; restarting')).toMatchObject({ code: 7 });
    await stopProcess(server);
  });
});

const LINES = fileURLToPath(new URL('../helpers/pty-lines.mjs', import.meta.url));

interface BulkRun {
  /** x of every stored 'bulk' row, in seq order. */
  stored: number[];
  /** The service's log line for the end of the run. */
  exited: Record<string, unknown>;
}

/** One server, one run of the fast producer printing `count` lines, then a clean stop. */
async function bulkRun(count: number, ending: 'newline' | 'no-newline'): Promise<BulkRun> {
  const dir = tempDir();
  const db = join(dir, 'bulk.db');
  const command = `'${process.execPath}' '${LINES}' '${join(dir, 'runs.txt')}' ${count} ${ending}`;
  const server = await startServer(['--db', db, '--source-cmd', command]);
  const exited = await waitFor(() => server.logs().find((l) => l.msg === 'source command exited; restarting'), 'the producer to exit', 30_000);
  const { code } = await stopProcess(server);
  expect(code).toBe(0);
  const stored = queryStore<{ x: number }>(db, "SELECT x FROM camera_updates WHERE camera = 'bulk' ORDER BY id").map((r) => r.x);
  return { stored, exited };
}

/** `runs` runs, two servers at a time (the machine is small and shared). */
async function bulkRuns(runs: number, count: number, ending: 'newline' | 'no-newline'): Promise<BulkRun[]> {
  const results: BulkRun[] = [];
  for (let i = 0; i < runs; i += 2) {
    results.push(...(await Promise.all(Array.from({ length: Math.min(2, runs - i) }, () => bulkRun(count, ending)))));
  }
  return results;
}

describe.skipIf(!hasPty)('wirecam serve --source-cmd: a producer that prints fast and exits', () => {
  const expected = (count: number) => Array.from({ length: count }, (_, i) => 1_000_000 + i);

  for (const count of [400, 3000]) {
    it(`stores every one of ${count} lines, in order, with its exact value, in each of 10 runs`, async () => {
      const runs = await bulkRuns(10, count, 'newline');
      // The counts first: a failure shows every run at once.
      expect(runs.map((r) => r.stored.length)).toEqual(runs.map(() => count));
      for (const run of runs) {
        expect(run.stored).toEqual(expected(count));
        expect(run.exited).toMatchObject({ code: 0, lines: count, updates: count, rejected: 0 });
      }
    }, 300_000);
  }

  it('takes a last line without a newline at the exit, whole, in each of 6 runs', async () => {
    const runs = await bulkRuns(6, 400, 'no-newline');
    expect(runs.map((r) => r.stored.length)).toEqual(runs.map(() => 400));
    for (const run of runs) expect(run.stored).toEqual(expected(400));
  }, 300_000);
});

describe.skipIf(!hasPty)("wirecam serve --source-cmd: the program gets none of wirecam's secrets", () => {
  const withRedis = redisAvailable('the Redis URL part of the --source-cmd secrets test');
  let redis: RedisServer | null = null;
  beforeAll(async () => {
    if (withRedis) redis = await startRedis();
  });
  afterAll(async () => {
    if (redis !== null) await stopRedis(redis);
  });

  it('leaves the secret variables out of its environment and masks secrets in logged lines', async () => {
    const dir = tempDir();
    const secrets = {
      producer: 'producer-secret-4f1d9a',
      viewer: 'viewer-secret-8c2e77',
      file: 'file-secret-31b0c5',
      tail: 'tail-secret-e6a2f0',
      redisPassword: 'redis-secret-a9d4b2',
    };
    writeFileSync(join(dir, 'producer-tokens'), `# producers\n${secrets.file}\n`);
    const env: NodeJS.ProcessEnv = {
      WIRECAM_PRODUCER_TOKEN: secrets.producer,
      WIRECAM_VIEWER_TOKEN: secrets.viewer,
      WIRECAM_PRODUCER_TOKEN_FILE: join(dir, 'producer-tokens'),
      WIRECAM_TOKEN: secrets.tail, // `wirecam tail`'s, in the same environment
      WIRECAM_MAX_HZ: '30', // not a secret: stays
      SOME_OTHER_VARIABLE: 'kept',
    };
    // The Redis server asks for no password; a URL with one still connects (the client warns).
    if (redis !== null) env.WIRECAM_REDIS_URL = `redis://:${secrets.redisPassword}@127.0.0.1:${redis.port}`;
    // The program prints one line that is not an update and carries every secret (as a
    // program that echoes a request or a config would), with a long tail to be cut.
    const line = `oops ${Object.values(secrets).join(' ')} ${'z'.repeat(400)}`;
    writeFileSync(join(dir, 'line.txt'), `${line}\n`);
    const command = `env > '${join(dir, 'env.txt')}'; cat '${join(dir, 'line.txt')}'; exec sleep 60`;
    const server = await startServer(['--db', join(dir, 'camera.db'), '--source-cmd', command], env);
    const logged = await waitFor(() => server.logs().find((l) => l.msg === 'skipped invalid line from --source-cmd'), 'the rejected line in the log');
    const childEnv = readFileSync(join(dir, 'env.txt'), 'utf8');

    const names = childEnv.split('\n').map((l) => l.split('=')[0]);
    for (const name of ['WIRECAM_PRODUCER_TOKEN', 'WIRECAM_VIEWER_TOKEN', 'WIRECAM_PRODUCER_TOKEN_FILE', 'WIRECAM_TOKEN', 'WIRECAM_REDIS_URL']) expect(names).not.toContain(name);
    for (const secret of Object.values(secrets)) expect(childEnv).not.toContain(secret);
    expect(childEnv).toContain('SOME_OTHER_VARIABLE=kept');
    expect(childEnv).toContain('WIRECAM_MAX_HZ=30');
    expect(childEnv).toContain('TERM=dumb');

    expect(logged.reason).toBe('not_an_update');
    const text = logged.line as string;
    const masked = ['producer', 'viewer', 'file', ...(redis !== null ? ['redisPassword'] : [])] as const;
    for (const key of masked) expect(text).not.toContain(secrets[key]);
    // `wirecam tail`'s token is not one the server is configured with: only kept from the child.
    expect(text.startsWith(`oops *** *** *** ${secrets.tail} ${redis !== null ? '***' : secrets.redisPassword} zzz`)).toBe(true);
    expect(text.length).toBeLessThanOrEqual(201); // cut to 200 characters and an ellipsis
    expect(text.endsWith('z…')).toBe(true);
    // Nothing else in the log carries them either.
    const all = server.stdout.join('\n');
    for (const key of masked) expect(all).not.toContain(secrets[key]);
    await stopProcess(server);
  });
});

describe.skipIf(!hasPty)('wirecam serve --source-cmd: a line cut off is never taken', () => {
  it('does not store the half line a stopped program leaves, and says so', async () => {
    const dir = tempDir();
    const db = join(dir, 'cut.db');
    // One whole line, then half of one; the program is stopped (with the server) mid-line.
    const server = await startServer(['--db', db, '--source-cmd', "printf 'camera=cut y=1 zoom=1 x=1\\ncamera=cut y=1 zoom=1 x=2'; exec sleep 60"]);
    await waitFor(() => queryStore(db, "SELECT 1 FROM camera_updates WHERE camera = 'cut'").length === 1, 'the whole line stored');
    const { code } = await stopProcess(server);
    expect(code).toBe(0);
    expect(queryStore<{ x: number }>(db, "SELECT x FROM camera_updates WHERE camera = 'cut' ORDER BY id").map((r) => r.x)).toEqual([1]);
    expect(server.logs().find((l) => l.msg === 'skipped invalid line from --source-cmd')).toMatchObject({ reason: 'incomplete_line', line: 'camera=cut y=1 zoom=1 x=2' });
    expect(server.logs().find((l) => l.msg === 'source command stopped')).toMatchObject({ updates: 1, rejected: 1 });
  });
});

describe.skipIf(!hasPty)('wirecam serve --source-cmd: any line is input, never a crash', () => {
  it('skips a line whose quoted value is not a JSON string, and keeps serving', async () => {
    const dir = tempDir();
    const db = join(dir, 'quoted.db');
    // "\q" is no JSON escape; the lines around it are valid.
    const server = await startServer(['--db', db, '--source-cmd', String.raw`printf 'camera=q x=1 y=1 zoom=1\ntype=tile_update x=1 y=2 brick="a\\qb"\ncamera=q x=2 y=1 zoom=1\n'; exec sleep 60`]);
    await waitFor(() => queryStore(db, "SELECT 1 FROM camera_updates WHERE camera = 'q'").length === 2, 'both valid lines stored');
    expect(server.child.exitCode).toBeNull();
    expect(server.logs().find((l) => l.msg === 'skipped invalid line from --source-cmd')).toMatchObject({ reason: 'not_an_update' });
    const { code } = await stopProcess(server);
    expect(code).toBe(0);
  });
});

describe.skipIf(!hasPty)('wirecam serve --source-cmd: a program that prints faster than the store takes it', () => {
  it('stores every one of 100,000 tile and 200,000 camera lines, in order, while the program keeps running', async () => {
    const dir = tempDir();
    const db = join(dir, 'flood.db');
    const tiles = 100_000;
    const cameras = 200_000;
    // Prints as fast as it can, then a last camera line, then keeps running: nothing is taken
    // from the program's exit. A reader that cannot keep up must make the program wait (as a
    // slow terminal does), never drop a line.
    const script = [
      'import sys',
      'w = sys.stdout.write',
      `for i in range(${tiles}): w('type=tile_update x=%d y=1 brick=b%d\\n' % (i, i))`,
      `for i in range(${cameras}): w('camera=flood x=%d y=%d zoom=1\\n' % (i, i % 7))`,
      "w('camera=flood-end x=1 y=1 zoom=1\\n')",
      'sys.stdout.flush()',
    ].join('\n');
    writeFileSync(join(dir, 'flood.py'), script);
    const server = await startServer(['--db', db, '--source-cmd', `python3 '${join(dir, 'flood.py')}'; exec sleep 600`]);
    const ended = () => queryStore(db, "SELECT 1 FROM camera_updates WHERE camera = 'flood-end'").length === 1;
    // The last line stored means every line before it was handled: the counts below say how.
    await waitFor(ended, 'the last line stored', 240_000, 250).catch(() => undefined);
    const storedTiles = queryStore<{ x: number; brick: string }>(db, 'SELECT x, brick FROM tile_updates ORDER BY id');
    const storedCameras = queryStore<{ x: number; y: number }>(db, "SELECT x, y FROM camera_updates WHERE camera = 'flood' ORDER BY id");
    expect({ tiles: storedTiles.length, cameras: storedCameras.length, ended: ended() }).toEqual({ tiles, cameras, ended: true });
    storedTiles.forEach((row, i) => {
      if (row.x !== i || row.brick !== `b${i}`) expect({ index: i, row }).toEqual({ index: i, row: { x: i, brick: `b${i}` } });
    });
    storedCameras.forEach((row, i) => {
      if (row.x !== i || row.y !== i % 7) expect({ index: i, row }).toEqual({ index: i, row: { x: i, y: i % 7 } });
    });
    expect(server.child.exitCode).toBeNull();
    const { code } = await stopProcess(server);
    expect(code).toBe(0);
    const stopped = server.logs().find((l) => l.msg === 'source command stopped');
    expect(stopped).toMatchObject({ lines: tiles + cameras + 1, updates: tiles + cameras + 1, rejected: 0 });
    expect(stopped!.paused as number).toBeGreaterThan(0); // it did have to wait
  }, 300_000);
});

describe.skipIf(!hasPty)('wirecam serve --source-cmd and WebSocket producers while the store is locked', () => {
  it('makes the command wait at half the queue, keeps the other half for producers, refuses past it without an ack and counts it', async () => {
    const dir = tempDir();
    const db = join(dir, 'locked.db');
    const token = 'pty-locked-token';
    const lines = 20_000;
    const sent = 6_000;
    writeFileSync(join(dir, 'flood.py'), `import sys\nfor i in range(${lines}): sys.stdout.write('camera=cmd x=%d y=1 zoom=1\\n' % i)\nsys.stdout.flush()\n`);
    const go = join(dir, 'go');
    const command = `while [ ! -e '${go}' ]; do sleep 0.05; done; python3 '${join(dir, 'flood.py')}'; exec sleep 600`;
    const server = await startServer(['--db', db, '--max-producer-rate', '1000000', '--source-cmd', command], { WIRECAM_PRODUCER_TOKEN: token });
    // Another process takes the store's write lock and holds it until it is stopped.
    const holder = await holdWriteLock(db, { insert: { camera: 'holder', x: 0 }, releaseAfterMs: 120_000 });
    writeFileSync(go, '');
    await waitFor(() => server.logs().find((l) => l.msg === 'source command waiting: the store queue is full'), 'the command to be made to wait', 60_000, 50);

    const producer = await connect(server.url, { protocols: ['wirecam.v1.json'], headers: { Authorization: `Bearer ${token}` } });
    for (let i = 0; i < sent; i++) producer.sendJson({ type: 'camera_update', camera: 'ws', x: i, y: 1, zoom: 1 });
    const outcome = (s: Scrape) => ({
      accepted: s.value('wirecam_producer_updates_total', { outcome: 'accepted' }),
      refused: s.value('wirecam_producer_updates_total', { outcome: 'refused' }),
    });
    const counted = outcome(await waitFor(async () => {
      const s = await scrape(server.httpUrl);
      const { accepted, refused } = outcome(s);
      return accepted + refused === sent ? s : null;
    }, 'every update of the producer counted', 30_000, 50));
    // The command holds at most half of the 10,000 (plus one batch put back after a failed
    // write): at least 4,500 slots were the producer's; the rest of its updates were refused.
    expect(counted.accepted).toBeGreaterThanOrEqual(4_500);
    expect(counted.accepted).toBeLessThanOrEqual(5_000);
    expect(producer.ofType('ack')).toHaveLength(0);
    expect(producer.ofType('error')).toHaveLength(0);

    await stopProcess(holder); // the lock goes with it (its transaction rolled back)
    await waitFor(() => producer.ofType('ack').length === counted.accepted, 'an ack for every accepted update', 60_000, 50);
    await waitFor(() => queryStore(db, "SELECT 1 FROM camera_updates WHERE camera = 'cmd'").length === lines, 'every line of the command stored', 120_000, 250).catch(() => undefined);
    const cmd = queryStore<{ x: number }>(db, "SELECT x FROM camera_updates WHERE camera = 'cmd' ORDER BY id").map((r) => r.x);
    expect(cmd.length).toBe(lines);
    expect(cmd.every((x, i) => x === i)).toBe(true);
    // Exactly the acknowledged updates are stored: the first `accepted` of those sent, in order.
    const ws = queryStore<{ id: number; x: number }>(db, "SELECT id, x FROM camera_updates WHERE camera = 'ws' ORDER BY id");
    expect(ws.map((r) => r.x)).toEqual(Array.from({ length: counted.accepted }, (_, i) => i));
    expect(producer.ofType('ack').map((m) => m.seq)).toEqual(ws.map((r) => r.id));
    const { code } = await stopProcess(server);
    expect(code).toBe(0);
    expect(server.logs().find((l) => l.msg === 'source command stopped')).toMatchObject({ lines, updates: lines, rejected: 0 });
  }, 300_000);
});

describe.skipIf(!hasPty)('wirecam serve --source-cmd: shutdown while the command waits for a locked store', () => {
  it('stops within the shutdown bound and names the updates read but never stored', async () => {
    const dir = tempDir();
    const db = join(dir, 'stuck.db');
    const go = join(dir, 'go');
    const command = `while [ ! -e '${go}' ]; do sleep 0.05; done; python3 -c "import sys
for i in range(20000): sys.stdout.write('camera=stuck x=%d y=1 zoom=1\\n' % i)"; exec sleep 600`;
    const server = await startServer(['--db', db, '--source-cmd', command]);
    const holder = await holdWriteLock(db, { releaseAfterMs: 120_000 });
    writeFileSync(go, '');
    await waitFor(() => server.logs().find((l) => l.msg === 'source command waiting: the store queue is full'), 'the command to be made to wait', 60_000, 50);
    const stopping = Date.now();
    const { code } = await stopProcess(server, 'SIGTERM', 30_000);
    expect(code).toBe(0);
    // 10 s for the store, plus the command's stop and the rest of the shutdown.
    expect(Date.now() - stopping).toBeLessThan(25_000);
    const abandoned = server.logs().find((l) => l.msg === 'updates not stored at shutdown (never acknowledged)');
    // The 5,000 queued and what the reader held beyond them (the batch in flight is not counted).
    expect(abandoned?.abandoned as number).toBeGreaterThanOrEqual(4_500);
  }, 120_000);
});
