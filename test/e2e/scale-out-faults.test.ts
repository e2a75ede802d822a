// Faults of a scale-out deployment with a real Redis: Redis killed for about ten seconds
// and started again (empty: no persistence), and a node killed with kill -9.
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { WirecamClient } from '../../src/client/node.js';
import type { ServerMessage } from '../../src/protocol/messages.js';
import { closeAllClients, type TestClient } from '../helpers/clients.js';
import {
  finalStates, healthOf, onStates, producerOn, redisStates, seqViolations, snapshotOf, startNodes, summary, viewersOf, type WirecamNode,
} from '../helpers/nodes.js';
import { stopAllProcesses, stopProcess } from '../helpers/processes.js';
import { redisAvailable, startRedis, stopRedis } from '../helpers/redis.js';
import { writeRowsFromAnotherProcess } from '../helpers/rows.js';
import { removeTempDirs } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

const available = redisAvailable('the scale-out fault tests');
const OUTAGE_MS = 10_000;

let nodes: WirecamNode[] = [];
const libraryClients: WirecamClient[] = [];

afterEach(async () => {
  closeAllClients();
  for (const client of libraryClients.splice(0)) client.close();
  await Promise.all(nodes.map((node) => stopProcess(node.server)));
  nodes = [];
});

afterAll(async () => {
  await stopAllProcesses();
  removeTempDirs();
});

describe.skipIf(!available)('scale-out faults', () => {
  it('Redis down for 10 s: nodes serve their own clients, report degraded, then every client ends on the same final state', { timeout: 120_000 }, async () => {
    let redis = await startRedis();
    nodes = await startNodes(['out-a', 'out-b', 'out-c'], redis.url);
    const [a, b, c] = nodes as [WirecamNode, WirecamNode, WirecamNode];
    const [onA, onB, onC] = await Promise.all(nodes.map(viewersOf));
    const clients = [...onA!, ...onB!, ...onC!];
    const producerC = await producerOn(c);

    // A state of every camera, each from a different node.
    await writeRowsFromAnotherProcess({ db: a.db, rows: [{ camera: 'a', x: 1, y: 0, zoom: 1 }, { camera: 'shared', x: 1, y: 0, zoom: 1 }] });
    await writeRowsFromAnotherProcess({ db: b.db, rows: [{ camera: 'b', x: 1, y: 0, zoom: 1 }] });
    producerC.sendJson({ type: 'camera_update', camera: 'c', x: 1, y: 0, zoom: 1 });
    await waitFor(() => onStates(clients, { a: 1, b: 1, c: 1, shared: 1 }), 'the first states on every node');

    // Redis dies (kill -9 by its PID).
    const downAt = Date.now();
    await stopRedis(redis);
    await waitFor(
      async () => (await Promise.all(nodes.map(healthOf))).every(({ status, body }) => status === 200 && body.status === 'degraded' && body.bus === 'degraded'),
      'every node to report degraded (with 200)',
    );

    // Each node keeps serving what is accepted on it to its own clients.
    const tsA = Date.now();
    await writeRowsFromAnotherProcess({
      db: a.db,
      rows: [{ camera: 'a', x: 2, y: 0, zoom: 1 }, { camera: 'shared', x: 2, y: 0, zoom: 1, ts: tsA }, { table: 'tile_updates', x: 7, y: 7, brick: 'during-outage' }],
    });
    await writeRowsFromAnotherProcess({ db: b.db, rows: [{ camera: 'b', x: 2, y: 0, zoom: 1 }, { camera: 'shared', x: 3, y: 0, zoom: 1, ts: tsA + 1 }] });
    producerC.sendJson({ type: 'camera_update', camera: 'c', x: 2, y: 0, zoom: 1 });
    await waitFor(() => onStates(onA!, { a: 2, shared: 2 }) && onStates(onB!, { b: 2, shared: 3 }) && onStates(onC!, { c: 2 }), 'local updates on their own node');
    expect(onStates(onA!, { b: 2 }) || onStates(onB!, { a: 2 }) || onStates(onC!, { a: 2 })).toBe(false);
    for (const client of onA!) await client.waitForMessage((m) => m.type === 'tile_update' && m.brick === 'during-outage', 'the tile on its own node');
    expect((await healthOf(a)).body).toMatchObject({ status: 'degraded', bus: 'degraded', bus_error: expect.stringContaining('redis') });

    // The rest of the ten seconds: the outage itself is what is being tested, not a wait for something.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, downAt + OUTAGE_MS - Date.now())));
    redis = await startRedis(redis.port); // same port, and empty: it kept nothing
    await waitFor(async () => (await Promise.all(nodes.map(healthOf))).every(({ body }) => body.status === 'ok' && body.bus === 'ok'), 'every node to report ok again', 15_000);

    // Everyone ends on the same states: each camera's latest, and for the camera changed on
    // two nodes during the outage, the more recent one (B's).
    const expected = { a: 2, b: 2, c: 2, shared: 3 };
    await waitFor(() => onStates(clients, expected), 'every client on every node to end on the same final states', 15_000).catch(async (error: Error) => {
      // On failure, say where each client ended and what Redis holds.
      const where = clients.map((client) => `  ${client.protocol || 'legacy'}: ${JSON.stringify(summary(finalStates(client)))}`);
      throw new Error(`${error.message}\n  redis: ${JSON.stringify(summary(await redisStates(redis.url)))}\n${where.join('\n')}`);
    });
    const stored = await redisStates(redis.url);
    expect(Object.fromEntries([...stored].map(([camera, state]) => [camera, state.x]))).toEqual(expected);
    for (const client of clients) {
      expect(summary(finalStates(client))).toEqual(summary(stored));
      expect(seqViolations(client)).toEqual([]);
    }
    // The tile accepted during the outage reached the other nodes afterwards.
    for (const client of [...onB!, ...onC!]) await client.waitForMessage((m) => m.type === 'tile_update' && m.brick === 'during-outage', 'the outage tile elsewhere');

    // Across nodes again, live.
    await writeRowsFromAnotherProcess({ db: b.db, rows: [{ camera: 'a', x: 3, y: 0, zoom: 1 }] });
    await waitFor(() => onStates(clients, { a: 3 }), 'a live update across nodes after the outage');
    const snapshots = await Promise.all(nodes.map((node) => snapshotOf(node, 4)));
    for (const snapshot of snapshots) expect(summary(snapshot)).toEqual(summary(snapshots[0]!));
    for (const client of clients) expect(seqViolations(client)).toEqual([]);
    await stopRedis(redis);
  });

  it('a node killed with kill -9: its clients reconnect to another node and get the current snapshot', async () => {
    const redis = await startRedis();
    nodes = await startNodes(['kill-a', 'kill-b'], redis.url);
    const [a, b] = nodes as [WirecamNode, WirecamNode];
    const client = new WirecamClient({ url: a.server.url, fallbackUrls: [b.server.url], cameras: ['*'], reconnect: { initialDelayMs: 50, maxDelayMs: 400 } });
    libraryClients.push(client);
    const connections: ServerMessage[][] = [];
    client.on('open', () => connections.push([]));
    client.on('message', (message) => connections.at(-1)!.push(message));
    client.connect();
    await client.next('hello');

    await writeRowsFromAnotherProcess({ db: a.db, rows: [{ camera: 'k', x: 1, y: 0, zoom: 1 }] });
    await writeRowsFromAnotherProcess({ db: b.db, rows: [{ camera: 'k2', x: 1, y: 0, zoom: 1 }] });
    await waitFor(() => client.latest('k')?.x === 1 && client.latest('k2')?.x === 1, 'states from both nodes on node A');

    const seqsBefore = { k: client.latest('k')!.seq, k2: client.latest('k2')!.seq };

    await stopProcess(a.server, 'SIGKILL');
    // Accepted while the client is away (it comes in the snapshot or just after it).
    await writeRowsFromAnotherProcess({ db: b.db, rows: [{ camera: 'k', x: 2, y: 0, zoom: 1 }] });
    await waitFor(() => client.connectionCount === 2 && client.latest('k')?.x === 2, 'the client on node B with the newest state', 15_000);
    expect(client.url).toBe(b.server.url);

    // Right after the handshake node B sent the state of every camera, states accepted on
    // the dead node included, none older than what the client had.
    const snapshot = connections[1]!.filter((m) => m.type === 'camera_update').slice(0, 2);
    expect(snapshot.map((m) => m.camera).sort()).toEqual(['k', 'k2']);
    for (const state of snapshot) expect(state.seq).toBeGreaterThanOrEqual(seqsBefore[state.camera as 'k' | 'k2']);
    const stored = await redisStates(redis.url);
    for (const camera of ['k', 'k2']) expect(client.latest(camera)?.seq, camera).toBe(stored.get(camera)!.seq);

    // And it stays live there.
    await writeRowsFromAnotherProcess({ db: b.db, rows: [{ camera: 'k2', x: 5, y: 0, zoom: 1 }] });
    await waitFor(() => client.latest('k2')?.x === 5, 'a live update on node B');
    await stopRedis(redis);
  });
});
