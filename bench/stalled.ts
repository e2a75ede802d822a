// `npm run soak -- --stalled 40 [--tiles 200000]`: what clients that stop reading cost. A
// wirecam server process, one client that keeps reading and N that stop reading (all
// subscribed to every camera), and a burst of tiles written into the store by another
// process. Prints the server's RSS (baseline, peak, after), how long until the stalled
// clients are cut, the longest gap between two messages the reading client got (heartbeats
// every 250 ms), and the slowest /metrics answer while it all happens.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Socket } from 'node:net';
import WebSocket from 'ws';
import { rssMiB } from './procstat.js';
import { listeningPort } from './listening.js';

/** What one run measured; MiB are the server process's resident memory. */
export interface StalledSummary {
  stalled: number;
  tiles: number;
  baselineMiB: number;
  peakMiB: number;
  afterMiB: number;
  /** From the start of the burst until the server holds only the reading client (ms). */
  cutAfterMs: number | null;
  /** Longest time the reading client went without a message (ms). */
  longestGapMs: number;
  slowestMetricsMs: number;
  tilesDelivered: number;
}

const HEARTBEAT_MS = 250;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await sleep(50);
  }
  return false;
}

/**
 * Runs the scenario once: `stalledCount` clients that stop reading, `tiles` tile rows in one
 * burst. Every process and socket it starts is ended before it returns, on failure too.
 * Throws when the server does not start.
 */
export async function stalledClients(stalledCount: number, tiles: number, log: (line: string) => void): Promise<StalledSummary> {
  const root = fileURLToPath(new URL('../../', import.meta.url));
  const dir = mkdtempSync(join(tmpdir(), 'wirecam-stalled-'));
  const db = join(dir, 'stalled.db');
  const children: ChildProcess[] = [];
  const sockets: WebSocket[] = [];
  try {
    const server = spawn(
      process.execPath,
      [join(root, 'dist/src/cli.js'), 'serve', '--port', '0', '--db', db, '--heartbeat-ms', String(HEARTBEAT_MS), '--max-connections-per-ip', '0'],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    children.push(server);
    const port = await listeningPort(server);
    const url = `ws://127.0.0.1:${port}/?camera=*`;
    const open = (ws: WebSocket) =>
      new Promise<void>((resolve, reject) => {
        ws.once('open', () => resolve());
        ws.once('error', reject);
      });
    const received: number[] = [];
    let tilesDelivered = 0;
    const reader = new WebSocket(url, ['wirecam.v1.json']);
    sockets.push(reader);
    reader.on('message', (data: Buffer) => {
      received.push(Date.now());
      if (data.includes('"tile_update"')) tilesDelivered++;
    });
    await open(reader);
    for (let i = 0; i < stalledCount; i++) {
      const ws = new WebSocket(url, ['wirecam.v1.json']);
      ws.on('error', () => undefined);
      sockets.push(ws);
      await open(ws);
      (ws as unknown as { _socket: Socket })._socket.pause();
    }
    const clients = async () => {
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(120_000) })).text();
      return [...text.matchAll(/^wirecam_clients\{[^}]*\} (\S+)$/gm)].reduce((n, m) => n + Number(m[1]), 0);
    };
    await until(async () => (await clients()) === stalledCount + 1, 10_000);
    await sleep(1000);
    const baseline = rssMiB(server.pid!);
    let peak = baseline;
    const sampler = setInterval(() => (peak = Math.max(peak, rssMiB(server.pid!))), 50);
    let probing = true;
    let slowestMetricsMs = 0;
    const prober = (async () => {
      while (probing) {
        const started = Date.now();
        await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(120_000) })
          .then((r) => r.text())
          .catch(() => undefined);
        slowestMetricsMs = Math.max(slowestMetricsMs, Date.now() - started);
        await sleep(100);
      }
    })();

    const started = Date.now();
    const writer = spawn(process.execPath, [join(root, 'test/helpers/write-rows.mjs'), JSON.stringify({ db, burst: { count: tiles, perTransaction: 1000, tiles: true } })], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    children.push(writer);
    await new Promise((resolve) => writer.once('exit', resolve));
    log(`stalled: ${tiles} tiles written in ${Date.now() - started} ms`);
    const cut = await until(async () => (await clients().catch(() => -1)) === 1, 120_000);
    const cutAfterMs = cut ? Date.now() - started : null;
    await until(() => tilesDelivered >= tiles, 60_000);
    await sleep(2000);
    probing = false;
    await prober;
    clearInterval(sampler);
    const ended = Date.now();
    let longestGapMs = 0;
    let previous = started;
    for (const at of received) {
      if (at < started) continue;
      longestGapMs = Math.max(longestGapMs, at - previous);
      previous = at;
    }
    longestGapMs = Math.max(longestGapMs, ended - previous);
    return { stalled: stalledCount, tiles, baselineMiB: baseline, peakMiB: peak, afterMiB: rssMiB(server.pid!), cutAfterMs, longestGapMs, slowestMetricsMs, tilesDelivered };
  } finally {
    for (const ws of sockets) ws.terminate();
    for (const child of children) if (child.pid !== undefined && child.exitCode === null) process.kill(child.pid, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

/** One line for the summary. */
export function describeStalled(s: StalledSummary): string {
  return (
    `stalled: ${s.stalled} clients that stop reading, ${s.tiles} tiles: server RSS ${s.baselineMiB.toFixed(0)} MiB -> peak ${s.peakMiB.toFixed(0)} MiB ` +
    `(+${(s.peakMiB - s.baselineMiB).toFixed(0)}), ${s.afterMiB.toFixed(0)} MiB after; stalled clients ${s.cutAfterMs === null ? 'NOT cut within 120 s' : `cut ${s.cutAfterMs} ms after the burst began`}; ` +
    `reading client: ${s.tilesDelivered} tiles, longest gap ${s.longestGapMs} ms (heartbeat every ${HEARTBEAT_MS} ms); slowest /metrics ${s.slowestMetricsMs} ms`
  );
}
