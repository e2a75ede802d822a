// The pieces of `wirecam top` and of progress reporting that need no server.
import { describe, expect, it } from 'vitest';
import { Histogram, Registry } from 'prom-client';
import { bucketDelta, histogramQuantile, parsePrometheusText, Scrape } from '../../src/top/prometheus.js';
import { clip, renderDashboard } from '../../src/top/dashboard.js';
import { formatProgress, Progress } from '../../src/progress.js';

const TEXT = `# HELP wirecam_clients Connected WebSocket clients
# TYPE wirecam_clients gauge
wirecam_clients{encoding="json",role="viewer"} 3
wirecam_clients{encoding="msgpack",role="viewer"} 5
wirecam_clients{encoding="msgpack",role="producer"} 1
wirecam_messages_sent_total{encoding="json"} 100
wirecam_info{version="1.2.3",note="a \\"quoted\\" \\\\ value"} 1
wirecam_latency_ms_bucket{le="1"} 10
wirecam_latency_ms_bucket{le="5"} 90
wirecam_latency_ms_bucket{le="+Inf"} 100
wirecam_latency_ms_sum 250
wirecam_latency_ms_count 100
not a sample line
odd_value NaN
`;

describe('Prometheus text', () => {
  it('parses samples, labels with escapes, and special values', () => {
    const samples = parsePrometheusText(TEXT);
    expect(samples).toHaveLength(11);
    expect(samples.find((s) => s.name === 'wirecam_info')!.labels).toEqual({ version: '1.2.3', note: 'a "quoted" \\ value' });
    expect(samples.find((s) => s.name === 'odd_value')!.value).toBeNaN();
  });

  it('sums, groups, and finds histograms, with null for what is missing', () => {
    const scrape = Scrape.parse(TEXT);
    expect(scrape.sum('wirecam_clients')).toBe(9);
    expect(scrape.sum('wirecam_clients', { role: 'viewer' })).toBe(8);
    expect(scrape.sumBy('wirecam_clients', 'encoding')).toEqual(new Map([['json', 3], ['msgpack', 6]]));
    expect(scrape.sum('wirecam_slow_consumers_closed_total')).toBeNull();
    expect(scrape.findHistogram(/latency/)).toBe('wirecam_latency_ms');
    expect(scrape.buckets('wirecam_latency_ms')).toEqual([{ le: 1, count: 10 }, { le: 5, count: 90 }, { le: Infinity, count: 100 }]);
  });

  it("reads prom-client's own output: a labelled histogram (le first) keeps every series, one bad line drops only itself", async () => {
    const registry = new Registry();
    const histogram = new Histogram({ name: 'wirecam_latency_ms', help: 'x', labelNames: ['encoding'], buckets: [1, 5], registers: [registry] });
    histogram.observe({ encoding: 'json' }, 0.5);
    histogram.observe({ encoding: 'msgpack' }, 3);
    histogram.observe({ encoding: 'msgpack' }, 3);
    const text = await registry.metrics();
    expect(text).toContain('wirecam_latency_ms_bucket{le="1",encoding="json"} 1');
    const scrape = Scrape.parse(`${text}broken{le="1" 7\n`);
    expect(scrape.buckets('wirecam_latency_ms')).toEqual([{ le: 1, count: 1 }, { le: 5, count: 3 }, { le: Infinity, count: 3 }]);
    expect(scrape.sumBy('wirecam_latency_ms_count', 'encoding')).toEqual(new Map([['json', 1], ['msgpack', 2]]));
    expect(scrape.sum('wirecam_latency_ms_sum')).toBe(6.5);
    expect(scrape.has('broken')).toBe(false);
  });

  it('computes quantiles like histogram_quantile, over a whole run or between scrapes', () => {
    const buckets = [{ le: 1, count: 10 }, { le: 5, count: 90 }, { le: Infinity, count: 100 }];
    expect(histogramQuantile(0.5, buckets)).toBeCloseTo(3, 6); // rank 50: 40/80 of the way from 1 to 5
    expect(histogramQuantile(0.05, buckets)).toBeCloseTo(0.5, 6);
    expect(histogramQuantile(0.99, buckets)).toBe(5); // in +Inf: the last finite bound
    expect(histogramQuantile(0.5, [{ le: 1, count: 0 }])).toBeNull();
    expect(bucketDelta(buckets, [{ le: 1, count: 10 }, { le: 5, count: 50 }, { le: Infinity, count: 50 }])).toEqual([
      { le: 1, count: 0 }, { le: 5, count: 40 }, { le: Infinity, count: 50 },
    ]);
  });
});

describe('the dashboard', () => {
  const stream = {
    state: 'open' as const, encoding: 'msgpack', server: 'wirecam/1.2.3', maxHz: 60, totalRate: 80, tileRate: 0, reconnections: 0,
    latency: { p50: 2, p90: 4, p99: 9, max: 12, samples: 400 },
    cameras: [
      { camera: 'main', rate: 60, lastSeq: 1000, lastAt: 9_990 },
      { camera: 'side', rate: 20, lastSeq: 999, lastAt: 9_950 },
      { camera: 'far', rate: 1, lastSeq: 998, lastAt: 9_000 },
    ],
  };

  it('fits the screen: clipped lines, extra cameras summarised', () => {
    const lines = renderDashboard({ url: 'ws://h:1/', now: 10_000, status: null, previous: null, stream, width: 40, height: 10, color: false, footer: '' });
    expect(lines.every((line) => line.length <= 40)).toBe(true);
    expect(lines.some((line) => line.startsWith('main'))).toBe(true);
    expect(lines.at(-1)).toMatch(/… 2 more camera/);
  });

  it('with --workers N, shows each fanout process with its state and clients, and the restarts', () => {
    const health = {
      status: 'degraded' as const, uptime_s: 5, clients: 7, cameras: 1, last_update_age_ms: 3, store: 'ok' as const, restarts: 1,
      processes: [
        { slot: 1, pid: 101, state: 'ready' as const, clients: 7, uptime_s: 5 },
        { slot: 2, pid: null, state: 'restarting' as const, clients: 0, uptime_s: null },
      ],
    };
    const status = { at: 0, health, healthError: null, metrics: null, metricsError: 'x' };
    const lines = renderDashboard({ url: 'ws://h:1/', now: 10_000, status, previous: null, stream, width: Infinity, height: Infinity, color: false, footer: '' });
    expect(lines).toContain('PROCS    2 fanout (slot pid state clients): #1 101 ready 7 · #2 – restarting 0   restarts 1');
    expect(lines.some((line) => line.startsWith('CLIENTS  7 connected'))).toBe(true);
  });

  it('clips by visible characters, keeping colour codes', () => {
    expect(clip('\x1b[1mabcdef\x1b[0m', 3)).toBe('\x1b[1mabc\x1b[0m');
  });
});

describe('progress', () => {
  it('draws a bar on a terminal, plain lines elsewhere', () => {
    expect(formatProgress('simulate', 5, 10, 's', '300 states', true)).toBe('simulate  [############............]  50%  5/10 s  300 states');
    expect(formatProgress('simulate', 2.5, 10, 's', '', false)).toBe('simulate  25%  2.5/10 s');
    expect(formatProgress('simulate', 7, 0, 's', '', false)).toBe('simulate  7 s');
    let clock = 0;
    const written: string[] = [];
    const plain = new Progress({ label: 'x', total: 10, unit: 's', stream: { write: (t) => written.push(t) > 0 }, lineMs: 1000, now: () => clock });
    for (clock = 0; clock <= 3000; clock += 100) plain.update(clock / 1000);
    expect(written).toEqual(['x  10%  1/10 s\n', 'x  20%  2/10 s\n', 'x  30%  3/10 s\n']);
    const drawn: string[] = [];
    const tty = new Progress({ label: 'x', total: 10, unit: 's', stream: { isTTY: true, columns: 80, write: (t) => drawn.push(t) > 0 }, now: () => clock });
    tty.update(5);
    tty.finish();
    expect(drawn).toEqual(['\rx  [############............]  50%  5/10 s\x1b[K', '\r\x1b[K']);
  });
});
