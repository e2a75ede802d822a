// `--workers 2` with `--redis`: each fanout process is a Redis node of its own (the service's
// --node-id with the process's slot as a suffix), and process 2 keeps its producers' rows in a
// store beside the configured one, so that every row is published once. Together with a
// single-process node on the same Redis: rows written into the service's store by another
// process, and producers' updates taken by either fanout process, reach every client of both
// processes and of the other node, at most once each, in seq order.
import { describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { connect, type TestClient } from '../helpers/clients.js';
import { clusterHealth, killFanoutProcesses } from '../helpers/cluster.js';
import { PRODUCER_TOKEN, producerOn, seqViolations, startNode, viewersOf, type WirecamNode } from '../helpers/nodes.js';
import { startServer, stopProcess, type ServerProcess } from '../helpers/processes.js';
import { redisPerFile } from '../helpers/redis.js';
import { writeRowsFromAnotherProcess } from '../helpers/rows.js';
import { queryStore } from '../helpers/store.js';
import { tempDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

const FAST_PRODUCERS = ['--max-producer-rate', '1000000'];

/** The servers a test started (Redis stays up for the next test). */
let servers: ServerProcess[] = [];
const redis = redisPerFile('the --workers with --redis test', async () => {
  await Promise.all(servers.map((server) => stopProcess(server)));
  servers = [];
  killFanoutProcesses();
});

/** Each value of `x` a client received for `camera`: none twice, and the last one `last`. */
function expectOnceEach(client: TestClient, camera: string, last: number): void {
  const xs = client.cameraUpdates(camera).map((m) => m.x as number);
  expect(new Set(xs).size).toBe(xs.length);
  expect(xs.at(-1)).toBe(last);
}

describe.skipIf(!redis.available)('--workers 2 with --redis', () => {
  it('publishes each update once: rows and producers of either process reach every client of the service and of another node', async () => {
    const db = join(tempDir(), 'camera.db');
    const service = await startServer(['--workers', '2', '--db', db, '--redis', redis.url, '--node-id', 'svc', ...FAST_PRODUCERS], {
      WIRECAM_PRODUCER_TOKEN: PRODUCER_TOKEN,
    });
    servers.push(service);
    await waitFor(async () => ((await clusterHealth(service)).processes.every((p) => p.state === 'ready') ? true : undefined), 'both fanout processes ready');
    const other: WirecamNode = await startNode('single', redis.url, { args: FAST_PRODUCERS });
    servers.push(other.server);

    const viewers: TestClient[] = [];
    for (let i = 0; i < 6; i++) {
      const protocols = [['wirecam.v1.json'], ['wirecam.v1.msgpack'], []][i % 3]!;
      viewers.push(await connect(service.url, { protocols, query: 'camera=*' }));
    }
    const spread = await waitFor(async () => {
      const body = await clusterHealth(service);
      return body.clients === 6 ? body : undefined;
    }, 'the service to count 6 viewers');
    expect(spread.processes.every((p) => p.clients > 0)).toBe(true);
    viewers.push(...(await viewersOf(other)));

    // Rows written into the service's store by another OS process: published once (by process 1).
    await writeRowsFromAnotherProcess({ db, rows: [1, 2, 3, 4, 5].map((x) => ({ camera: 'rows', x, y: 0, zoom: 1 })) });
    for (const viewer of viewers) await viewer.waitForMessage((m) => m.type === 'camera_update' && m.camera === 'rows' && m.x === 5, 'the last row on every viewer');

    // Producers on the service until each process holds one (the primary hands connections
    // out in turn, but /healthz requests take turns too). Each update is acked by the process
    // that took it and stored there, once.
    const producers: TestClient[] = [];
    let counts = spread.processes.map((p) => p.clients);
    const gained = new Set<number>();
    for (let attempt = 0; attempt < 10 && gained.size < 2; attempt++) {
      producers.push(await producerOn({ name: 'svc', db, server: service }));
      const after = await waitFor(async () => {
        const body = await clusterHealth(service);
        return body.clients === 6 + producers.length ? body.processes.map((p) => p.clients) : undefined;
      }, 'the service to count the new producer');
      after.forEach((count, slot) => count > counts[slot]! && gained.add(slot));
      counts = after;
    }
    expect(gained.size).toBe(2);
    const cameras = producers.map((_, i) => `p${i}`);
    for (const [i, producer] of producers.entries()) {
      for (let x = 1; x <= 3; x++) producer.sendJson({ type: 'camera_update', camera: cameras[i], x, y: 0, zoom: 1 });
    }
    for (const producer of producers) await waitFor(() => (producer.ofType('ack').length >= 3 ? true : undefined), '3 acks per producer');
    for (const viewer of viewers) {
      for (const camera of cameras) await viewer.waitForMessage((m) => m.type === 'camera_update' && m.camera === camera && m.x === 3, `${camera}'s last update on every viewer`);
    }
    const second = db.replace(/\.db$/, '.2.db');
    expect(existsSync(second)).toBe(true);
    const stored = (file: string) => queryStore<{ camera: string }>(file, "SELECT camera FROM camera_updates WHERE camera LIKE 'p%'").map((r) => r.camera);
    // Each producer's 3 updates in exactly one of the two stores; both stores hold some.
    const inFirst = stored(db);
    const inSecond = stored(second);
    expect([...inFirst, ...inSecond].sort()).toEqual(cameras.flatMap((camera) => [camera, camera, camera]).sort());
    for (const camera of cameras) expect(inFirst.includes(camera) !== inSecond.includes(camera)).toBe(true);
    expect(inFirst.length).toBeGreaterThan(0);
    expect(inSecond.length).toBeGreaterThan(0);

    // Once each, in seq order, on every client of both processes and of the other node.
    for (const viewer of viewers) {
      expectOnceEach(viewer, 'rows', 5);
      for (const camera of cameras) expectOnceEach(viewer, camera, 3);
      expect(seqViolations(viewer)).toEqual([]);
    }
  });
});
