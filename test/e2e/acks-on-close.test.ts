// A producer the server closes (ten errors: 1008) loses the acks of updates it had accepted
// and stores after the close (docs/protocol.md 4.5): they are stored all the same, counted in
// wirecam_updates_stored_total, and the metric's description says what it counts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { startServer, stopAllProcesses, type ServerProcess } from '../helpers/processes.js';
import { connect, closeAllClients } from '../helpers/clients.js';
import { scrape } from '../helpers/metrics.js';
import { tempDir, removeTempDirs } from '../helpers/tmp.js';
import { countRows } from '../helpers/store.js';
import { waitFor } from '../helpers/wait.js';

const TOKEN = 'acks-on-close-token';
const RATE = 1_000;
const SENT = 3_000;
let server: ServerProcess;
let db: string;

beforeAll(async () => {
  db = join(tempDir(), 'camera.db');
  server = await startServer(['--db', db, '--producer-token', TOKEN, '--max-producer-rate', String(RATE)]);
});
afterAll(async () => {
  closeAllClients();
  await stopAllProcesses();
  removeTempDirs();
});

describe('a producer closed for too many errors', () => {
  it('has every accepted update stored and counted, though some acks never came', async () => {
    const producer = await connect(server.url, { protocols: ['wirecam.v1.json'], headers: { Authorization: `Bearer ${TOKEN}` }, query: 'camera=none' });
    for (let i = 0; i < SENT; i++) producer.sendJson({ type: 'camera_update', camera: 'flood', x: i, y: 0, zoom: 1 });
    const closed = await producer.waitForClose(20_000);
    expect(closed.code).toBe(1008);
    const stored = () => scrape(server.httpUrl).then((s) => s.value('wirecam_updates_stored_total'));
    const accepted = (await scrape(server.httpUrl)).value('wirecam_producer_updates_total', { outcome: 'accepted' });
    // Everything accepted before the close is committed after it.
    await waitFor(async () => (await stored()) === accepted, `${accepted} accepted updates committed`, 20_000, 50);
    const rows = countRows(db);
    const acks = producer.ofType('ack').length;
    console.log(`sent ${SENT}, accepted ${accepted}, stored ${rows}, acknowledged ${acks}, close ${closed.code}`);
    expect(rows).toBe(accepted);
    expect(acks).toBeLessThanOrEqual(rows);
    // The description says "committed", and not that each was acknowledged.
    const help = (await scrape(server.httpUrl)).text.split('\n').find((line) => line.startsWith('# HELP wirecam_updates_stored_total '));
    expect(help).toMatch(/committed/);
    expect(help).not.toMatch(/committed to the store and acknowledged/);
    expect(help).toMatch(/acknowledged when its producer is still connected/);
  }, 60_000);
});
