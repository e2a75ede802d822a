// Per-camera state is bounded and follows the store. 300,000 distinct camera ids, one row
// each, written by another process, must not grow the server without bound: the snapshot
// keeps at most --max-cameras (the least recently updated are forgotten), and once the rows
// are deleted (by another process) the cameras leave the snapshot too, so that a new client
// is not sent states of cameras the store no longer has. Real server process, real SQLite
// file, real sockets.
import { afterAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startProcess, startServer, stopAllProcesses, stopProcess, type ServerProcess } from '../helpers/processes.js';
import { connect, closeAllClients } from '../helpers/clients.js';
import { writeRowsFromAnotherProcess } from '../helpers/rows.js';
import { scrape } from '../helpers/metrics.js';
import { tempDir, removeTempDirs } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

afterAll(async () => {
  closeAllClients();
  await stopAllProcesses();
  removeTempDirs();
});

/** Distinct cameras written, one row each (the reported input, not scaled down). */
const CAMERAS = 300_000;
/** The cap the server runs with in this test (the default is 10,000; see README). */
const MAX_CAMERAS = 5_000;
/**
 * Resident memory the server may gain over its idle baseline while reading them. Before the
 * fix the same input cost over 1 GB (every camera's state, graph group and coalescing
 * state kept for good); bounded, it costs the transient read batches and at most
 * MAX_CAMERAS states.
 */
const RSS_GROWTH_BOUND_MB = 250;

/** Resident set size of a process, in MB (Linux /proc). */
function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)![1]);
  return kb / 1024;
}

/** Deletes rows with the sqlite3 shell: another process, its own connection. */
async function sqlFromAnotherProcess(db: string, sql: string): Promise<void> {
  const started = startProcess([db, sql], { command: 'sqlite3' });
  const { code } = await started.exited;
  if (code !== 0) throw new Error(`sqlite3 failed (${code}): ${started.stderr.join('\n')}`);
}

async function camerasGauge(server: ServerProcess): Promise<number> {
  return (await scrape(server.httpUrl)).value('wirecam_cameras');
}

describe('per-camera state', () => {
  it(`stays bounded with ${CAMERAS.toLocaleString('en')} cameras and follows the store when their rows are deleted`, async () => {
    const db = join(tempDir(), 'camera.db');
    const server = await startServer(['--db', db, '--log-level', 'info'], { WIRECAM_MAX_CAMERAS: String(MAX_CAMERAS) });
    try {
      await waitFor(async () => (await fetch(`${server.httpUrl}/readyz`)).status === 200, 'the server to be ready', 20_000);
      const baseline = rssMb(server.pid);
      let peak = baseline;
      const sample = setInterval(() => {
        try {
          peak = Math.max(peak, rssMb(server.pid));
        } catch {
          // The process is gone; the test fails on its own below.
        }
      }, 50);
      try {
        const written = await writeRowsFromAnotherProcess({ db, burst: { camera: 'cam', cameras: CAMERAS, count: CAMERAS, perTransaction: 10_000 } });
        expect(written.written).toBe(CAMERAS);
        // The newest camera, written last: it survives the cap and is never deleted.
        await writeRowsFromAnotherProcess({ db, rows: [{ camera: 'survivor', x: 1, y: 2, zoom: 1 }] });
        await waitFor(
          async () => {
            const metrics = await scrape(server.httpUrl);
            return metrics.value('wirecam_updates_received_total', { kind: 'camera' }) >= CAMERAS + 1;
          },
          'the server to read every row',
          120_000,
          200,
        );
        peak = Math.max(peak, rssMb(server.pid));
      } finally {
        clearInterval(sample);
      }
      const cameras = await camerasGauge(server);
      console.log(`rss baseline ${baseline.toFixed(0)} MB, peak ${peak.toFixed(0)} MB; wirecam_cameras ${cameras}`);
      expect(cameras).toBeLessThanOrEqual(MAX_CAMERAS);
      expect(peak - baseline).toBeLessThan(RSS_GROWTH_BOUND_MB);
      const scraped = await scrape(server.httpUrl);
      expect(scraped.value('wirecam_cameras_forgotten_total', { reason: 'cap' })).toBe(CAMERAS + 1 - cameras);

      // Another process deletes every row but the survivor's.
      await sqlFromAnotherProcess(db, "DELETE FROM camera_updates WHERE camera <> 'survivor'");
      await waitFor(async () => (await camerasGauge(server)) === 1, 'wirecam_cameras to return to what the store holds (1)', 60_000, 200);

      // A new client of every camera: the survivor, and nothing the store no longer has.
      const client = await connect(server.url, { protocols: ['wirecam.v1.json'], query: 'camera=*' });
      await client.waitForMessage((m) => m.type === 'camera_update' && m.camera === 'survivor', "the survivor's state");
      const sent = new Set(client.cameraUpdates().map((m) => m.camera));
      expect([...sent]).toEqual(['survivor']);
      client.close();
    } finally {
      await stopProcess(server);
    }
  }, 240_000);
});
