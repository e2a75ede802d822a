// The map and resume with several nodes on Redis (docs/protocol.md section 9): the tile history
// lives in Redis (a capped stream), so a client that drops from one node resumes on another,
// also after that node restarted, with the deployment's epoch.
import { describe, expect, it } from 'vitest';
import { stopProcess } from '../helpers/processes.js';
import { connect, closeAllClients, type Message, type TestClient } from '../helpers/clients.js';
import { startNode, type WirecamNode } from '../helpers/nodes.js';
import { redisPerFile } from '../helpers/redis.js';
import { REDIS_NAMES } from '../../src/bus/redis/scripts.js';
import { writeRowsFromAnotherProcess } from '../helpers/rows.js';

const JSON_V1 = ['wirecam.v1.json'];

let nodes: WirecamNode[] = [];
const redis = redisPerFile('the map on Redis tests', async () => {
  await Promise.all(nodes.map((node) => stopProcess(node.server)));
  nodes = [];
});

const hello = (client: TestClient): Promise<Message> => client.waitForMessage((m) => m.type === 'hello', 'hello');
const tileSeqs = (client: TestClient): number[] => client.ofType('tile_update').map((m) => m.seq as number);

describe.runIf(redis.available)('map and resume across nodes on Redis', () => {
  it('recovers on node B what a client missed after dropping from node A, also after B restarts', async () => {
    const a = await startNode('map-a', redis.url, { args: ['--tile-history', '1000'] });
    let b = await startNode('map-b', redis.url, { args: ['--tile-history', '1000'] });
    nodes = [a, b];
    const onA = await connect(a.server.url, { protocols: JSON_V1 });
    const witnessB = await connect(b.server.url, { protocols: JSON_V1 });
    const { epoch } = await hello(onA);
    expect((await hello(witnessB)).epoch).toBe(epoch);
    expect(await redis.admin.get(REDIS_NAMES.epoch)).toBe(epoch);

    await writeRowsFromAnotherProcess({ db: a.db, burst: { count: 50, perTransaction: 10, tiles: true, coordinates: 20 } });
    await onA.waitForMessage(() => tileSeqs(onA).length === 50, 'the first 50 tiles on A');
    const had = tileSeqs(onA);
    onA.close();

    // Written on A while the client is away; B sees them through Redis.
    await writeRowsFromAnotherProcess({ db: a.db, burst: { count: 200, perTransaction: 20, tiles: true, coordinates: 20 } });
    await witnessB.waitForMessage(() => tileSeqs(witnessB).length === 250, 'B to see all 250 tiles');
    const all = tileSeqs(witnessB);
    const missed = all.filter((seq) => seq > had.at(-1)!);
    expect(missed).toHaveLength(200);

    const started = Date.now();
    const onB = await connect(b.server.url, { protocols: JSON_V1, query: `epoch=${epoch}&tiles_since=${had.at(-1)}` });
    expect(await hello(onB)).toMatchObject({ epoch, recovered: true });
    await onB.waitForMessage(() => tileSeqs(onB).length === 200, 'the 200 missed tiles on B');
    const resumeMs = Date.now() - started;
    expect(tileSeqs(onB)).toEqual(missed);

    // B restarts: the history is in Redis, not in B's memory.
    closeAllClients();
    await stopProcess(b.server);
    b = await startNode('map-b', redis.url, { db: b.db, args: ['--tile-history', '1000'] });
    nodes = [a, b];
    const afterRestart = await connect(b.server.url, { protocols: JSON_V1, query: `epoch=${epoch}&tiles_since=${had.at(-1)}` });
    expect(await hello(afterRestart)).toMatchObject({ epoch, recovered: true });
    await afterRestart.waitForMessage(() => tileSeqs(afterRestart).length === 200, 'the 200 tiles after the restart');
    expect(tileSeqs(afterRestart)).toEqual(missed);

    // The map from Redis: each of the 20 coordinates' latest tile, in seq order.
    const map = await connect(b.server.url, { protocols: JSON_V1, query: 'tiles=map' });
    await hello(map);
    await map.waitForMessage(() => tileSeqs(map).length === 20, 'the map of 20 coordinates');
    expect(tileSeqs(map)).toEqual(all.slice(-20));

    // A wrong epoch: recovered false.
    const wrong = await connect(b.server.url, { protocols: JSON_V1, query: `epoch=nope&tiles_since=${had.at(-1)}` });
    expect(await hello(wrong)).toMatchObject({ recovered: false });
    console.log(`resume of 200 tiles on another node: ${resumeMs} ms`);
  });

  it('says recovered: false below the capped history', async () => {
    const a = await startNode('cap-a', redis.url, { args: ['--tile-history', '100'] });
    nodes = [a];
    const witness = await connect(a.server.url, { protocols: JSON_V1 });
    const { epoch } = await hello(witness);
    await writeRowsFromAnotherProcess({ db: a.db, burst: { count: 1000, perTransaction: 100, tiles: true } });
    await witness.waitForMessage(() => tileSeqs(witness).length === 1000, 'all 1000 tiles');
    // MAXLEN ~ keeps at least 100 entries (whole radix-tree nodes): seq 10 is long gone.
    const early = await connect(a.server.url, { protocols: JSON_V1, query: `epoch=${epoch}&tiles_since=10` });
    expect(await hello(early)).toMatchObject({ recovered: false });
    const recent = await connect(a.server.url, { protocols: JSON_V1, query: `epoch=${epoch}&tiles_since=950` });
    expect(await hello(recent)).toMatchObject({ recovered: true });
    await recent.waitForMessage(() => tileSeqs(recent).length === 50, 'the last 50 tiles');
  });
});
