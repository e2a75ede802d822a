// The metrics module over a fake service: values are read from the service's counters when
// scraped, the cursor lag is newest id minus cursor, and a store that cannot answer makes the
// store series disappear rather than lie.
import { describe, expect, it } from 'vitest';
import { ServiceMetrics, type MetricsSource } from '../../src/server/metrics.js';
import { countRefusal, createCounters } from '../../src/server/counters.js';
import type { Cursor } from '../../src/store/reader.js';
import { parseMetrics } from '../helpers/metrics.js';

const summary = { average: 0, mean: 0, stddev: 0, min: 0, max: 0, p0_001: 0, p0_01: 0, p0_1: 0, p1: 0, p2_5: 0, p10: 0, p25: 0, p50: 3, p75: 0, p90: 4, p97_5: 0, p99: 5, p99_9: 0, p99_99: 0, p99_999: 0 };

function fakeService() {
  const counters = createCounters();
  const hub = { counters: { sent: { json: 0, msgpack: 0, legacy: 0 }, bytes: { json: 0, msgpack: 0, legacy: 0 }, coalesced: 0 }, cameraCount: 0 };
  const sessions: Array<{ role: 'viewer' | 'producer'; encoding: 'json' | 'msgpack' }> = [];
  const state = { newest: { camera: 0, tile: 0 } as Cursor, cursor: { camera: 0, tile: 0 } as Cursor, storeFails: false, queries: 0 };
  const source: MetricsSource = {
    version: '9.9.9',
    counters,
    hub,
    sessions,
    pool: {
      queueSize: 0,
      completed: 0,
      taskTimes: { runTime: summary, waitTime: summary },
      newestIds: async () => {
        state.queries++;
        if (state.storeFails) throw new Error('SQLITE_CANTOPEN');
        return { ...state.newest };
      },
    },
    cursor: () => ({ ...state.cursor }),
    storeReadable: () => !state.storeFails,
    camerasForgotten: () => ({ cap: 0, store: 0 }),
  };
  const metrics = new ServiceMetrics(source);
  const scrape = async () => parseMetrics((await metrics.render()).body);
  return { counters, hub, sessions, state, metrics, scrape };
}

describe('ServiceMetrics', () => {
  it('reads the counters at scrape time', async () => {
    const { counters, hub, sessions, scrape } = fakeService();
    counters.rowsRejected.bad_zoom = 3;
    counters.errorsSent.unauthorized = 2;
    counters.updatesRead.camera = 40;
    counters.slowConsumersClosed = 1;
    for (let i = 0; i < 3; i++) countRefusal(counters, 503, 'capacity');
    countRefusal(counters, 503, 'shutting_down');
    countRefusal(counters, 400, 'websocket_key');
    counters.connectionsDropped = 6;
    hub.counters.sent.msgpack = 120;
    hub.counters.bytes.msgpack = 9000;
    hub.counters.coalesced = 7;
    sessions.push({ role: 'viewer', encoding: 'msgpack' }, { role: 'viewer', encoding: 'msgpack' }, { role: 'producer', encoding: 'json' });
    const first = await scrape();
    expect(first.value('wirecam_rows_rejected_total', { reason: 'bad_zoom' })).toBe(3);
    expect(first.value('wirecam_rows_rejected_total', { reason: 'bad_camera' })).toBe(0);
    expect(first.value('wirecam_errors_sent_total', { code: 'unauthorized' })).toBe(2);
    expect(first.value('wirecam_updates_received_total', { kind: 'camera' })).toBe(40);
    expect(first.value('wirecam_slow_consumers_closed_total')).toBe(1);
    expect(first.value('wirecam_upgrades_refused_total', { status: '503', reason: 'capacity' })).toBe(3);
    expect(first.value('wirecam_upgrades_refused_total', { status: '503', reason: 'shutting_down' })).toBe(1);
    expect(first.value('wirecam_upgrades_refused_total', { status: '400', reason: 'websocket_key' })).toBe(1);
    // The status label alone still selects them (summed over reasons, as Prometheus would).
    expect(first.samples.filter((s) => s.name === 'wirecam_upgrades_refused_total' && s.labels.status === '503').reduce((sum, s) => sum + s.value, 0)).toBe(4);
    expect(first.value('wirecam_connections_dropped_total')).toBe(6);
    expect(first.value('wirecam_messages_sent_total', { encoding: 'msgpack' })).toBe(120);
    expect(first.value('wirecam_bytes_sent_total', { encoding: 'msgpack' })).toBe(9000);
    expect(first.value('wirecam_updates_coalesced_total')).toBe(7);
    expect(first.value('wirecam_clients', { encoding: 'msgpack', role: 'viewer' })).toBe(2);
    expect(first.value('wirecam_clients', { encoding: 'json', role: 'producer' })).toBe(1);
    expect(first.value('wirecam_clients', { encoding: 'json', role: 'viewer' })).toBe(0);
    expect(first.value('wirecam_worker_task_run_ms', { quantile: '0.99' })).toBe(5);
    expect(first.value('wirecam_info', { version: '9.9.9' })).toBe(1);

    // Mirrors, not accumulators: a second scrape shows the same totals, then the new ones.
    expect((await scrape()).value('wirecam_messages_sent_total', { encoding: 'msgpack' })).toBe(120);
    hub.counters.sent.msgpack = 150;
    sessions.pop();
    const second = await scrape();
    expect(second.value('wirecam_messages_sent_total', { encoding: 'msgpack' })).toBe(150);
    expect(second.value('wirecam_clients', { encoding: 'json', role: 'producer' })).toBe(0);
  });

  it('reports the cursor lag as newest id minus cursor, per table', async () => {
    const { state, scrape } = fakeService();
    state.newest = { camera: 135, tile: 12 };
    state.cursor = { camera: 110, tile: 12 };
    const text = await scrape();
    expect(text.value('wirecam_store_cursor_lag_rows', { table: 'camera_updates' })).toBe(25);
    expect(text.value('wirecam_store_cursor_lag_rows', { table: 'tile_updates' })).toBe(0);
    expect(text.value('wirecam_store_newest_id', { table: 'camera_updates' })).toBe(135);
  });

  it('queries the store at most once a second, however often it is scraped', async () => {
    const { state, scrape } = fakeService();
    await Promise.all([scrape(), scrape(), scrape()]);
    await scrape();
    expect(state.queries).toBe(1);
  });

  it('drops the store series while the store cannot answer', async () => {
    const { state, scrape } = fakeService();
    state.storeFails = true;
    const text = await scrape();
    expect(text.has('wirecam_store_cursor_lag_rows')).toBe(false);
    expect(text.has('wirecam_store_newest_id')).toBe(false);
    expect(text.value('wirecam_store_readable')).toBe(0);
  });

  it('observes latency in ms buckets, a clock ahead counting as 0', async () => {
    const { metrics, scrape } = fakeService();
    for (const ms of [0.5, 3, 3, 40, 7000, -20]) metrics.observeLatency(ms);
    const text = await scrape();
    expect(text.value('wirecam_delivery_latency_ms_count')).toBe(6);
    expect(text.value('wirecam_delivery_latency_ms_bucket', { le: '1' })).toBe(2);
    expect(text.value('wirecam_delivery_latency_ms_bucket', { le: '5' })).toBe(4);
    expect(text.value('wirecam_delivery_latency_ms_bucket', { le: '5000' })).toBe(5);
    expect(text.value('wirecam_delivery_latency_ms_sum')).toBe(7046.5);
  });

  it('keeps each server’s metrics apart (one registry per server)', async () => {
    const a = fakeService();
    const b = fakeService();
    a.hub.counters.sent.json = 5;
    expect((await a.scrape()).value('wirecam_messages_sent_total', { encoding: 'json' })).toBe(5);
    expect((await b.scrape()).value('wirecam_messages_sent_total', { encoding: 'json' })).toBe(0);
  });
});
