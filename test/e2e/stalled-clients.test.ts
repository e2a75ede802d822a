// Memory and time are bounded per client, and cutting clients is cheap: forty clients that
// stop reading, subscribed to every camera, while another process writes a burst of 200,000
// tiles. The server's resident memory stays within what --slow-consumer-bytes allows per
// client, and while the stalled clients are cut, a client that keeps reading keeps getting
// heartbeats and tiles and /metrics keeps answering.
import { afterAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { connect, closeAllClients, type TestClient } from '../helpers/clients.js';
import { startServer, stopAllProcesses, stopProcess } from '../helpers/processes.js';
import { parseMetrics } from '../helpers/metrics.js';
import { writeRowsFromAnotherProcess } from '../helpers/rows.js';
import { tempDir, removeTempDirs } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

afterAll(async () => {
  closeAllClients();
  await stopAllProcesses();
  removeTempDirs();
});

const MiB = 1024 * 1024;
const STALLED = 40;
const TILES = 200_000;
const CAP = 4 * MiB; // the default --slow-consumer-bytes
const HEARTBEAT_MS = 250;
/**
 * What the burst costs the server without any stalled client (the workers, the store's batches,
 * the reading client's frames: about 90 MiB measured), and dropped backlogs not yet collected.
 * Measured with 40 stalled clients: +248 to +264 MiB; before the backlog was bounded: +501 MiB.
 */
const MARGIN_MiB = 200;

/** Resident memory of a process (0 once it is gone). */
function rssMiB(pid: number): number {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

/** Longest time between two consecutive messages a client received, from `since` on. */
function longestGap(client: TestClient, since: number, until: number): number {
  let previous = since;
  let longest = 0;
  for (const { at } of client.received) {
    if (at < since) continue;
    longest = Math.max(longest, at - previous);
    previous = at;
  }
  return Math.max(longest, until - previous);
}

describe('forty clients that stop reading, and a burst of tiles', () => {
  it('keep the server within its memory bound, and cutting them does not stall anyone else', async () => {
    const db = join(tempDir(), 'camera.db');
    const server = await startServer(['--db', db, '--heartbeat-ms', String(HEARTBEAT_MS)]);
    const reader = await connect(server.url, { protocols: ['wirecam.v1.json'], query: 'camera=*' });
    const stalled: TestClient[] = [];
    for (let i = 0; i < STALLED; i++) {
      const client = await connect(server.url, { protocols: ['wirecam.v1.json'], query: 'camera=*' });
      client.pause();
      stalled.push(client);
    }
    let exit: { code: number | null; signal: NodeJS.Signals | null } | null = null;
    void server.exited.then((result) => (exit = result));
    const clientCount = async () => {
      if (exit !== null) throw new Error(`the server exited (${JSON.stringify(exit)}): ${server.stderr.slice(-20).join('\n')}`);
      const scrape = parseMetrics(await (await fetch(`${server.httpUrl}/metrics`, { signal: AbortSignal.timeout(120_000) })).text());
      return scrape.samples.filter((s) => s.name === 'wirecam_clients').reduce((n, s) => n + s.value, 0);
    };
    expect(await clientCount()).toBe(STALLED + 1);
    const baseline = rssMiB(server.pid);

    // Sample the server's memory and how long /metrics takes to answer, all along.
    let peak = baseline;
    const sampler = setInterval(() => (peak = Math.max(peak, rssMiB(server.pid))), 50);
    let probing = true;
    let slowestScrapeMs = 0;
    let scrapeError: unknown = null;
    const prober = (async () => {
      while (probing && scrapeError === null) {
        const started = Date.now();
        await fetch(`${server.httpUrl}/metrics`, { signal: AbortSignal.timeout(120_000) })
          .then((r) => r.text())
          .catch((error: unknown) => (scrapeError = error));
        slowestScrapeMs = Math.max(slowestScrapeMs, Date.now() - started);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    })();

    const started = Date.now();
    const { lastTileId } = await writeRowsFromAnotherProcess({ db, burst: { count: TILES, perTransaction: 1000, tiles: true } });
    const finished = async (what: string, check: () => Promise<boolean> | boolean) =>
      waitFor(check, what, 120_000, 100).then(
        () => true,
        (error: unknown) => (console.log(String(error)), false),
      );
    const allTiles = await finished('the reading client to get every tile', () => reader.messages.some((m) => m.type === 'tile_update' && m.seq === lastTileId));
    const cut = await finished('the stalled clients to be cut', async () => (await clientCount()) === 1);
    const cutAfter = Date.now() - started;
    // A little longer: anything that cutting them set off (errors, collections) shows here.
    const settle = Date.now();
    await finished('heartbeats after the cut', () => Date.now() - settle >= 2000 && reader.received.at(-1)!.at >= settle + 1000);
    probing = false;
    await prober;
    clearInterval(sampler);
    const ended = Date.now();

    const gap = longestGap(reader, started, ended);
    const tiles = reader.ofType('tile_update').length;
    console.log(
      `${STALLED} stalled clients, ${TILES} tiles: server RSS ${baseline.toFixed(0)} MiB -> peak ${peak.toFixed(0)} MiB ` +
        `(+${(peak - baseline).toFixed(0)} MiB; bound ${STALLED} x ${CAP / MiB} MiB + ${MARGIN_MiB} MiB); stalled clients ${cut ? `cut after ${cutAfter} ms` : 'not cut'}; ` +
        `reading client: ${tiles} tiles, longest gap ${gap} ms (heartbeat every ${HEARTBEAT_MS} ms); slowest /metrics ${slowestScrapeMs} ms`,
    );
    expect(allTiles).toBe(true);
    expect(cut).toBe(true);
    expect(tiles).toBe(TILES);
    expect(peak - baseline).toBeLessThan((STALLED * CAP) / MiB + MARGIN_MiB);
    expect(gap).toBeLessThan(5000);
    expect(scrapeError).toBeNull();
    expect(slowestScrapeMs).toBeLessThan(5000);
    expect(reader.closed).toBeNull();
    await stopProcess(server);
  }, 300_000);
});
