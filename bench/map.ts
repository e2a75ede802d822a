// `npm run bench:map [-- --tiles 100000]`: the map sent to a late joiner while another client
// follows a 60 Hz camera. A store with that many tiles (one per coordinate), a wirecam server
// process, a camera written at 60 Hz by this process; client B follows the camera, client A
// connects with tiles=map. Prints the time A takes to get the whole map, and B's camera
// inter-arrival gaps (max, p99) while A's map is sent and before it, so a stall shows.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import Database from 'better-sqlite3';
import WebSocket from 'ws';
import { openStore } from '../src/store/open.js';

function argument(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  return at === -1 ? fallback : Number(process.argv[at + 1]);
}

const TILES = argument('tiles', 100_000);
const CAMERA_HZ = 60;
const CLI = fileURLToPath(new URL('../src/cli.js', import.meta.url));

function percentile(sorted: readonly number[], p: number): number {
  return sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'wirecam-bench-map-'));
  const db = join(dir, 'camera.db');
  openStore(db).close();
  const writer = new Database(db);
  writer.pragma('journal_mode = WAL');
  const insert = writer.prepare('INSERT INTO tile_updates (x, y, brick, ts) VALUES (?, ?, ?, ?)');
  writer.transaction(() => {
    for (let i = 0; i < TILES; i++) insert.run(i % 1000, Math.floor(i / 1000), `brick-${i % 17}.png`, Date.now());
  })();
  const server = spawn(process.execPath, [CLI, 'serve', '--db', db, '--port', '0', '--retain-rows', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const lines = createInterface({ input: server.stdout! });
      lines.on('line', (line) => {
        try {
          const entry = JSON.parse(line) as { msg?: string; url?: string };
          if (entry.msg?.startsWith('listening on ') && entry.url) resolve(entry.url);
        } catch {
          // not a log line
        }
      });
      server.once('exit', (code) => reject(new Error(`server exited (${code})`)));
    });
    const cameraAt: number[] = [];
    const follower = new WebSocket(`${url}?camera=main`, ['wirecam.v1.json']);
    follower.on('message', (data: Buffer) => {
      if (data.includes('"camera_update"')) cameraAt.push(performance.now());
    });
    await new Promise((resolve) => follower.once('open', resolve));
    const insertCamera = writer.prepare("INSERT INTO camera_updates (camera, x, y, zoom, ts) VALUES ('main', ?, ?, 1, ?)");
    let n = 0;
    const producer = setInterval(() => insertCamera.run(n, n++, Date.now()), 1000 / CAMERA_HZ);
    await new Promise((resolve) => setTimeout(resolve, 2000));

    const started = performance.now();
    let mapTiles = 0;
    let upTo = 0;
    let finished = 0;
    const late = new WebSocket(`${url}?camera=main&tiles=map`, ['wirecam.v1.json']);
    await new Promise<void>((resolve) => {
      late.on('message', (data: Buffer) => {
        if (data.includes('"hello"')) upTo = (JSON.parse(data.toString()) as { tile_seq: number }).tile_seq;
        else if (data.includes('"tile_update"')) {
          mapTiles++;
          if (mapTiles === TILES) {
            finished = performance.now();
            resolve();
          }
        }
      });
    });
    await new Promise((resolve) => setTimeout(resolve, 1000));
    clearInterval(producer);
    const gaps = (from: number, to: number) => {
      const times = cameraAt.filter((t) => t >= from && t <= to);
      return times.slice(1).map((t, i) => t - times[i]!).sort((a, b) => a - b);
    };
    const during = gaps(started, finished);
    const before = gaps(started - 2000, started);
    const report = {
      tiles: TILES,
      tile_seq: upTo,
      map_ms: Math.round(finished - started),
      map_tiles_per_s: Math.round(TILES / ((finished - started) / 1000)),
      camera_hz: CAMERA_HZ,
      follower_updates_during_map: during.length + 1,
      follower_gap_ms_during: { p50: +percentile(during, 50).toFixed(1), p99: +percentile(during, 99).toFixed(1), max: +(during.at(-1) ?? 0).toFixed(1) },
      follower_gap_ms_before: { p50: +percentile(before, 50).toFixed(1), p99: +percentile(before, 99).toFixed(1), max: +(before.at(-1) ?? 0).toFixed(1) },
    };
    console.log(JSON.stringify(report, null, 2));
    follower.terminate();
    late.terminate();
  } finally {
    server.kill('SIGTERM');
    writer.close();
    await new Promise((resolve) => server.once('exit', resolve));
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
