// `wirecam serve --workers N`: a primary process and N fanout processes on one port, each
// tailing the one store (real processes, real sockets, a real SQLite file written by
// another process). Every fanout process's PID is read from /healthz and ended by PID too.
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import WebSocket from 'ws';
import { alive, runCli, startServer, stopAllProcesses, stopProcess, type ServerProcess } from '../helpers/processes.js';
import { connect, closeAllClients, type TestClient } from '../helpers/clients.js';
import { writeRowsFromAnotherProcess } from '../helpers/rows.js';
import { tempDir, removeTempDirs } from '../helpers/tmp.js';
import { queryStore } from '../helpers/store.js';
import { waitFor } from '../helpers/wait.js';
import { scrape } from '../helpers/metrics.js';
import { SERVICE_NODE_FLAGS } from '../../src/node-flags.js';
import { clusterHealth, killFanoutProcesses } from '../helpers/cluster.js';

const TOKEN = 'workers-token';

afterEach(async () => {
  closeAllClients();
  await stopAllProcesses();
  killFanoutProcesses();
});
afterAll(() => removeTempDirs());

async function startCluster(args: string[], env: NodeJS.ProcessEnv = {}): Promise<ServerProcess> {
  const server = await startServer(['--workers', '2', ...args], env);
  const ready = await waitFor(async () => {
    const body = await clusterHealth(server);
    return body.processes.every((p) => p.state === 'ready') ? body : undefined;
  }, 'both fanout processes ready');
  expect(ready.workers).toBe(2);
  expect(ready.processes).toHaveLength(2);
  return server;
}

function cameraSeqs(client: TestClient, camera: string): number[] {
  return client.cameraUpdates(camera).map((m) => m.seq as number);
}

function expectStrictlyIncreasing(seqs: number[]): void {
  for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBeGreaterThan(seqs[i - 1]!);
}

describe('two fanout processes', () => {
  it('spread clients over both; rows and producer updates reach every client on both, in seq order', async () => {
    const db = join(tempDir(), 'camera.db');
    const server = await startCluster(['--db', db], { WIRECAM_PRODUCER_TOKEN: TOKEN });
    const viewers: TestClient[] = [];
    for (let i = 0; i < 8; i++) viewers.push(await connect(server.url, { protocols: [i % 2 === 0 ? 'wirecam.v1.json' : 'wirecam.v1.msgpack'], query: 'camera=*' }));
    const spread = await waitFor(async () => {
      const body = await clusterHealth(server);
      return body.clients === 8 ? body : undefined;
    }, 'the service to count 8 clients');
    // Both processes hold some, and the per-process figures add up to the total.
    expect(spread.processes.every((p) => p.clients > 0)).toBe(true);
    expect(spread.processes.reduce((sum, p) => sum + p.clients, 0)).toBe(8);

    // Rows written by another OS process reach every client of both processes.
    const { lastId } = await writeRowsFromAnotherProcess({ db, rows: [1, 2, 3, 4, 5].map((x) => ({ camera: 'spread', x, y: 0, zoom: 1 })) });
    for (const viewer of viewers) await viewer.waitForMessage((m) => m.type === 'camera_update' && m.seq === lastId, `row ${lastId} on every client`);

    // A producer on one process: acknowledged after the commit, and its update reaches the
    // viewers of the other process (every viewer, and they are on both).
    const producer = await connect(server.url, { protocols: ['wirecam.v1.json'], headers: { Authorization: `Bearer ${TOKEN}` } });
    producer.sendJson({ type: 'camera_update', camera: 'spread', x: 42, y: 43, zoom: 2 });
    const ack = await producer.waitForMessage((m) => m.type === 'ack', 'the ack');
    expect(queryStore<{ x: number }>(db, 'SELECT x FROM camera_updates WHERE id = ?', ack.seq)).toEqual([{ x: 42 }]);
    for (const viewer of viewers) await viewer.waitForMessage((m) => m.type === 'camera_update' && m.seq === ack.seq && m.x === 42, 'the producer update on every viewer');

    // seq is the row id: global, strictly increasing on every client.
    expect(ack.seq as number).toBeGreaterThan(lastId);
    for (const viewer of viewers) expectStrictlyIncreasing(cameraSeqs(viewer, 'spread'));

    // Every fanout process runs with the service's V8 flags (src/node-flags.ts), though this
    // primary was started without them.
    for (const entry of spread.processes) {
      const argv = readFileSync(`/proc/${entry.pid}/cmdline`, 'utf8').split('\0');
      for (const flag of SERVICE_NODE_FLAGS) expect(argv).toContain(flag);
    }

    // `wirecam top` shows the service's total and each process.
    const top = await runCli(['top', '--url', server.url, '--interval-ms', '300']);
    expect(top.code).toBe(0);
    const procs = top.stdout.find((line) => line.startsWith('PROCS'));
    for (const entry of spread.processes) expect(procs).toContain(`#${entry.slot} ${entry.pid} ready`);
    expect(top.stdout.find((line) => line.startsWith('CLIENTS'))).toMatch(/^CLIENTS +10 connected/);
    expect((await stopProcess(server, 'SIGTERM')).code).toBe(0);
  });
});

describe('a fanout process dies', () => {
  it('is restarted within seconds; the other process’s clients never notice; /healthz reports it', async () => {
    const db = join(tempDir(), 'camera.db');
    const server = await startCluster(['--db', db]);
    const viewers: TestClient[] = [];
    for (let i = 0; i < 6; i++) viewers.push(await connect(server.url, { protocols: ['wirecam.v1.json'], query: 'camera=*' }));
    const before = await waitFor(async () => {
      const body = await clusterHealth(server);
      return body.clients === 6 && body.processes.every((p) => p.clients > 0) ? body : undefined;
    }, 'clients on both processes');
    await writeRowsFromAnotherProcess({ db, rows: [{ camera: 'kill', x: 1, y: 0, zoom: 1 }] });
    for (const viewer of viewers) await viewer.waitForMessage((m) => m.type === 'camera_update' && m.camera === 'kill', 'the first row');

    const victim = before.processes[0]!;
    const survivor = before.processes[1]!;
    const killedAt = Date.now();
    process.kill(victim.pid!, 'SIGKILL');

    // The victim's clients lose their connection; the survivor's keep theirs.
    await waitFor(() => viewers.filter((v) => v.closed !== null).length === victim.clients, "the killed process's clients to be cut off");
    const kept = viewers.filter((v) => v.closed === null);
    expect(kept).toHaveLength(survivor.clients);

    // A new process takes the slot within a few seconds, and /healthz says what happened.
    const after = await waitFor(async () => {
      const body = await clusterHealth(server);
      const slot = body.processes.find((p) => p.slot === victim.slot)!;
      return slot.state === 'ready' && slot.pid !== victim.pid ? body : undefined;
    }, 'a new fanout process in the slot', 15_000);
    expect(Date.now() - killedAt).toBeLessThan(10_000);
    expect(alive(victim.pid!)).toBe(false);
    expect(after.restarts).toBe(1);
    expect(after.last_exit).toContain(`pid ${victim.pid}`);
    expect(after.last_exit).toContain('SIGKILL');
    expect(after.processes.find((p) => p.slot === survivor.slot)!.pid).toBe(survivor.pid);
    expect(server.logs().some((l) => typeof l.msg === 'string' && l.msg.includes('was killed by SIGKILL; restarting it'))).toBe(true);

    // Reconnecting clients are served, by either process; the survivors go on undisturbed.
    const returning: TestClient[] = [];
    for (let i = 0; i < victim.clients + 2; i++) returning.push(await connect(server.url, { protocols: ['wirecam.v1.json'], query: 'camera=*' }));
    const { lastId } = await writeRowsFromAnotherProcess({ db, rows: [{ camera: 'kill', x: 2, y: 0, zoom: 1 }] });
    for (const viewer of [...kept, ...returning]) await viewer.waitForMessage((m) => m.type === 'camera_update' && m.seq === lastId, 'the row after the restart');
    const served = await clusterHealth(server);
    expect(served.processes.every((p) => p.clients > 0)).toBe(true);
    for (const viewer of kept) {
      expect(viewer.closed).toBeNull();
      expectStrictlyIncreasing(cameraSeqs(viewer, 'kill'));
      expect(cameraSeqs(viewer, 'kill')).toHaveLength(2);
    }
    expect((await stopProcess(server, 'SIGTERM')).code).toBe(0);
  });
});

describe('SIGTERM to the primary', () => {
  it('closes every client of every process with 1001, stores and acknowledges what was accepted, exits 0', async () => {
    const db = join(tempDir(), 'camera.db');
    const server = await startCluster(['--db', db], { WIRECAM_PRODUCER_TOKEN: TOKEN });
    const viewers: TestClient[] = [];
    for (let i = 0; i < 4; i++) viewers.push(await connect(server.url, { protocols: ['wirecam.v1.msgpack'], query: 'camera=*' }));
    const producers: TestClient[] = [];
    for (let i = 0; i < 2; i++) producers.push(await connect(server.url, { protocols: ['wirecam.v1.json'], headers: { Authorization: `Bearer ${TOKEN}` } }));
    const spread = await waitFor(async () => {
      const body = await clusterHealth(server);
      return body.clients === 6 ? body : undefined;
    }, 'six clients');
    expect(spread.processes.every((p) => p.clients > 0)).toBe(true);
    const pids = spread.processes.map((p) => p.pid!);

    for (let i = 0; i < 300; i++) for (const producer of producers) producer.sendJson({ type: 'camera_update', camera: 'bye', x: i, y: 0, zoom: 1 });
    await waitFor(() => producers.every((p) => p.ofType('ack').length > 0), 'the first acks from both producers');
    const { code } = await stopProcess(server, 'SIGTERM', 30_000);
    expect(code).toBe(0);
    for (const client of [...viewers, ...producers]) expect((await client.waitForClose()).code).toBe(1001);
    for (const pid of pids) expect(alive(pid)).toBe(false);

    // Whatever was accepted before the signal was stored and acknowledged, and nothing else.
    const acked = producers.flatMap((p) => p.ofType('ack').map((m) => m.seq as number));
    const stored = new Set(queryStore<{ id: number }>(db, "SELECT id FROM camera_updates WHERE camera = 'bye'").map((r) => r.id));
    expect(acked.every((seq) => stored.has(seq))).toBe(true);
    expect(stored.size).toBe(acked.length);
    expect(server.logs().filter((l) => l.msg === 'fanout process stopped')).toHaveLength(2);
    expect(server.logs().at(-1)?.msg).toBe('stopped');
  });
});

/** Opens a WebSocket from `localAddress` (127.0.0.x); resolves with the open socket or the HTTP status of the refusal. */
function open(url: string, localAddress: string, protocol: string): Promise<{ ws: WebSocket } | { status: number }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${url}?camera=*`, [protocol], { localAddress });
    ws.once('open', () => resolve({ ws }));
    ws.once('unexpected-response', (_request, response) => {
      resolve({ status: response.statusCode ?? 0 });
      response.resume();
      ws.terminate();
    });
    ws.once('error', reject);
  });
}

describe('one service from outside', () => {
  it('/metrics sums every process; the client limit and the per-address limit hold across processes', async () => {
    const db = join(tempDir(), 'camera.db');
    const server = await startCluster(['--db', db, '--max-clients', '5', '--max-connections-per-ip', '3']);
    const sockets: WebSocket[] = [];
    const openOk = async (address: string, protocol: string) => {
      const result = await open(server.url, address, protocol);
      if (!('ws' in result)) throw new Error(`refused with ${result.status}`);
      sockets.push(result.ws);
      return result.ws;
    };
    try {
      // Three from one address (spread over both processes, so neither holds three itself)...
      for (let i = 0; i < 3; i++) await openOk('127.0.0.1', i === 0 ? 'wirecam.v1.msgpack' : 'wirecam.v1.json');
      // ...and the fourth from it is refused, whichever process takes it.
      for (let i = 0; i < 2; i++) expect(await open(server.url, '127.0.0.1', 'wirecam.v1.json')).toEqual({ status: 429 });
      const other = await openOk('127.0.0.2', 'wirecam.v1.msgpack');
      await openOk('127.0.0.2', 'wirecam.v1.json');
      // Five in all: the sixth is refused at the service's client limit, from any address.
      for (let i = 0; i < 2; i++) expect(await open(server.url, '127.0.0.3', 'wirecam.v1.json')).toEqual({ status: 503 });

      const body = await clusterHealth(server);
      expect(body.clients).toBe(5);
      expect(body.processes.every((p) => p.clients > 0)).toBe(true);
      expect(body.processes.reduce((sum, p) => sum + p.clients, 0)).toBe(5);

      // One scrape, from whichever process answers it, shows the whole service.
      await writeRowsFromAnotherProcess({ db, rows: [1, 2, 3].map((x) => ({ camera: 'm', x, y: 0, zoom: 1 })) });
      await waitFor(async () => (await scrape(server.httpUrl)).value('wirecam_updates_received_total', { kind: 'camera' }) === 3, 'both processes to read the rows');
      for (let i = 0; i < 4; i++) {
        const metrics = await scrape(server.httpUrl);
        expect(metrics.value('wirecam_clients', { encoding: 'json', role: 'viewer' })).toBe(3);
        expect(metrics.value('wirecam_clients', { encoding: 'msgpack', role: 'viewer' })).toBe(2);
        expect(metrics.value('wirecam_fanout_processes', { state: 'ready' })).toBe(2);
        expect([metrics.value('wirecam_fanout_restarts_total'), metrics.value('wirecam_fanout_scrape_missing')]).toEqual([0, 0]);
        // Rows every process reads count once, not once per process.
        expect(metrics.value('wirecam_updates_received_total', { kind: 'camera' })).toBe(3);
        expect(metrics.value('wirecam_cameras')).toBe(1);
        expect(metrics.value('wirecam_upgrades_refused_total', { status: '429', reason: 'address_limit' })).toBe(2);
        expect(metrics.value('wirecam_upgrades_refused_total', { status: '503', reason: 'capacity' })).toBe(2);
        // Camera messages: three rows to each of five clients, summed over both processes.
        const sent = metrics.value('wirecam_messages_sent_total', { encoding: 'json' }) + metrics.value('wirecam_messages_sent_total', { encoding: 'msgpack' });
        expect(sent).toBe(15);
      }

      // A place given back is free again, for the whole service.
      other.terminate();
      await waitFor(async () => (await clusterHealth(server)).clients === 4, 'the service to count 4 clients');
      await openOk('127.0.0.3', 'wirecam.v1.json');
    } finally {
      for (const ws of sockets) ws.terminate();
    }
    expect((await stopProcess(server, 'SIGTERM')).code).toBe(0);
  });
});
