// Every client message counts against its connection's budget (docs/protocol.md section 7): one
// connection flooding `subscribe` against thousands of cameras cannot stall the other clients.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startProcess, startServer, stopAllProcesses, health, type ServerProcess } from '../helpers/processes.js';
import { connect, closeAllClients, type TestClient } from '../helpers/clients.js';
import { scrape } from '../helpers/metrics.js';
import { writeRowsFromAnotherProcess } from '../helpers/rows.js';
import { tempDir, removeTempDirs } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

const FLOOD = fileURLToPath(new URL('../helpers/subscribe-flood.mjs', import.meta.url));
const CAMERAS = 5_000;
const SUBSCRIBES = 5_000;
/** docs/protocol.md section 4.6: the tenth error within ten seconds closes the connection. */
const ERROR_LIMIT = 10;

let server: ServerProcess;

beforeAll(async () => {
  const db = join(tempDir(), 'camera.db');
  server = await startServer(['--db', db, '--demo']);
  await writeRowsFromAnotherProcess({ db, burst: { camera: 'cam', cameras: CAMERAS, count: CAMERAS, perTransaction: CAMERAS } });
  await waitFor(async () => ((await health(server)).body.cameras as number) >= CAMERAS, `${CAMERAS} cameras in the snapshot`, 30_000, 100);
}, 60_000);
afterAll(async () => {
  closeAllClients();
  await stopAllProcesses();
  removeTempDirs();
});

/** Largest interval (ms) between consecutive arrivals in `times`, which must be sorted, and where it starts. */
function maxGap(times: readonly number[]): { gap: number; at: number } {
  let gap = 0;
  let at = 0;
  for (let i = 1; i < times.length; i++) {
    if (times[i]! - times[i - 1]! > gap) {
      gap = times[i]! - times[i - 1]!;
      at = times[i - 1]! - times[0]!;
    }
  }
  return { gap, at };
}

function arrivalsSince(client: TestClient, from: number): number[] {
  return client.received.filter((r) => r.message.type === 'camera_update' && r.at >= from).map((r) => r.at);
}

describe('a subscribe flood on one connection', () => {
  it('is answered rate_limited and closed, while another client following main keeps its rate', async () => {
    const watcher = await connect(server.url, { protocols: ['wirecam.v1.json'], query: 'camera=main' });
    await watcher.waitForMessage((m) => m.type === 'camera_update', 'the demo camera');
    // The same client's worst gap over a quiet stretch as long as the flood's: what the machine
    // (2 shared cores) gives without any flood.
    const quietFrom = Date.now();
    await waitFor(() => Date.now() >= quietFrom + 3_000, 'a quiet stretch');
    const quiet = maxGap([quietFrom, ...arrivalsSince(watcher, quietFrom), Date.now()]);
    const flood = startProcess([FLOOD, JSON.stringify({ url: server.url, count: SUBSCRIBES })]);
    await waitFor(() => flood.stdout.includes('open'), 'the flooding client to connect', 20_000);
    const from = Date.now();
    flood.child.stdin!.write('go\n');
    const { code } = await flood.exited;
    // One more second of watching after the flood's connection ended.
    const until = Date.now() + 1_000;
    await waitFor(() => Date.now() >= until, 'a second after the flood');
    expect(code).toBe(0);
    const result = JSON.parse(flood.stdout.find((line) => line.startsWith('{'))!) as {
      frames: number;
      errors: Record<string, number>;
      close: number | null;
    };
    const arrivals = arrivalsSince(watcher, from);
    const { gap, at } = maxGap([from, ...arrivals, Date.now()]);
    const metrics = await scrape(server.httpUrl);
    const errors = {
      rate_limited: metrics.value('wirecam_errors_sent_total', { code: 'rate_limited' }),
      too_many_errors: metrics.value('wirecam_errors_sent_total', { code: 'too_many_errors' }),
    };
    console.log(
      `subscribe flood: ${JSON.stringify(result)}; errors sent ${JSON.stringify(errors)}; watcher max gap ${gap} ms ` +
        `(from ${at} ms) over ${arrivals.length} updates, ${quiet.gap} ms without the flood`,
    );
    // The excess is refused (rate_limited) and counts toward the ten-errors rule: the flood is
    // closed with 1008. (The errors queued behind the snapshots are dropped with the backlog
    // when the server closes the connection: the server's counters show them.)
    expect(errors.rate_limited).toBe(ERROR_LIMIT);
    expect(errors.too_many_errors).toBe(1);
    expect(result.close).toBe(1008);
    // Generous bound over what the machine gives without a flood: without a budget the
    // watcher waited seconds.
    expect(gap).toBeLessThan(quiet.gap + 500);
  }, 60_000);
});
