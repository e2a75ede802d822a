// /metrics for the whole service with --workers N, assembled in the primary: it asks every
// fanout process for its registry (as JSON, over IPC), adds its own figures (processes by
// state, restarts), and combines them with prom-client's AggregatorRegistry.aggregate: sums,
// except where a metric names another aggregator (src/server/metrics.ts). A process that
// does not answer within COLLECT_WAIT_MS is left out of that scrape and counted in
// wirecam_fanout_scrape_missing, so a scrape still answers while a process restarts.
import { AggregatorRegistry, Counter, Gauge, Registry } from 'prom-client';
import type { Worker } from 'node:cluster';
import type { ProcessReport } from '../server/service-link.js';
import type { FromPrimary, MetricsJson } from './messages.js';

/** How long the primary waits for each process's registry (ms); below the fanout side's METRICS_WAIT_MS. */
export const COLLECT_WAIT_MS = 2000;

const STATES: readonly ProcessReport['state'][] = ['starting', 'ready', 'stopping', 'restarting'];

interface Collection {
  expected: Set<number>;
  answers: MetricsJson[];
  done(): void;
}

/** The primary's side of /metrics: `scrape()` for a request, `collected()` for each answer. */
export class ClusterMetrics {
  private readonly own = new Registry();
  private readonly collections = new Map<number, Collection>();
  private nextId = 1;
  private missing = 0;

  /**
   * `workers()`: the fanout processes to ask (connected ones); `processes()`: each slot's
   * state; `restarts()`: processes restarted since start.
   */
  constructor(
    private readonly workers: () => Worker[],
    processes: () => ProcessReport[],
    restarts: () => number,
  ) {
    const registers = [this.own];
    const self = this;
    new Gauge({
      name: 'wirecam_fanout_processes',
      help: 'Fanout processes (--workers) by state: starting, ready, stopping, restarting (exited, a new one on its way)',
      labelNames: ['state'],
      registers,
      collect() {
        const list = processes();
        for (const state of STATES) this.set({ state }, list.filter((p) => p.state === state).length);
      },
    });
    new Counter({
      name: 'wirecam_fanout_restarts_total',
      help: 'Fanout processes that exited and were started again',
      registers,
      collect() {
        this.reset();
        this.inc(restarts());
      },
    });
    new Gauge({
      name: 'wirecam_fanout_scrape_missing',
      help: 'Fanout processes that did not answer this scrape in time: their figures are not in it',
      registers,
      collect() {
        this.set(self.missing);
      },
    });
  }

  /** The service's metrics in the Prometheus text format. Never rejects for a process that does not answer. */
  async scrape(): Promise<{ contentType: string; body: string }> {
    const id = this.nextId++;
    const workers = this.workers().filter((worker) => worker.isConnected());
    const collection: Collection = { expected: new Set(), answers: [], done: () => undefined };
    const finished = new Promise<void>((resolve) => (collection.done = resolve));
    this.collections.set(id, collection);
    const message: FromPrimary = { t: 'wirecam:collect', id };
    for (const worker of workers) {
      try {
        worker.send(message);
        collection.expected.add(worker.id);
      } catch {
        // Gone meanwhile: missing from this scrape.
      }
    }
    if (collection.expected.size === 0) collection.done();
    const timer = setTimeout(() => collection.done(), COLLECT_WAIT_MS);
    await finished;
    clearTimeout(timer);
    this.collections.delete(id);
    this.missing = collection.expected.size;
    const registry = AggregatorRegistry.aggregate([...collection.answers, await this.own.getMetricsAsJSON()] as never);
    return { contentType: registry.contentType, body: await registry.metrics() };
  }

  /** Process `worker`'s answer to collection `id`. */
  collected(id: number, worker: number, metrics: MetricsJson): void {
    const collection = this.collections.get(id);
    if (collection === undefined || !collection.expected.delete(worker)) return;
    collection.answers.push(metrics);
    if (collection.expected.size === 0) collection.done();
  }
}
