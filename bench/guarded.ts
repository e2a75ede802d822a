// The figures `bench:check` guards, and how each is read from one build's runs of one
// interleaved pair. Pure: no processes, no I/O (bench/check.ts runs, bench/judge.ts judges).
import type { PeerName, RunResult } from './e2e.js';

/** A figure the guard watches: which scenario, which field of its RunResult, which way is better. */
export interface GuardedFigure {
  scenario: string;
  field: 'cpuUsPerMessage' | 'p99' | 'perSecond' | 'rssMiB';
  /** The wirecam peer whose run gives the figure (e2e.ts WIRECAM_WORKERS); default 'wirecam' (one process). */
  peer?: PeerName;
  /**
   * When set, the figure is `field` of `peer` divided by `field` of this peer, both of the same
   * build in the same pair: e.g. the flood's scaling from one fanout process to two
   * (dimensionless). A difference between builds in it shows even when both runs of a build
   * moved together with the machine's load.
   */
  per?: PeerName;
  title: string;
  unit: string;
  higherIsBetter: boolean;
  /** Relative tolerance per pair and for the median ratio (bench/judge.ts). */
  tolerance: number;
}

/**
 * The guarded figures. Two runs of the same build, pair by pair on a busy 2-core machine,
 * differed by up to 17% in CPU per message, 3% in RSS, and far more in p99 latency (a tail;
 * up to 3x) and flood throughput (bound by the load generator sharing the cores; up to
 * 1.7x). The tolerances sit where a single pair crosses them now and then, and the rule
 * (all of 3 pairs, or 3 of 4, ... AND the medians) keeps such single swings from failing.
 * The flood scaling is a ratio of two flood runs, so it carries the noise of both.
 */
export const GUARDED: GuardedFigure[] = [
  { scenario: 'seed', field: 'cpuUsPerMessage', title: 'seed: server CPU per delivered message', unit: 'µs', higherIsBetter: false, tolerance: 0.1 },
  { scenario: 'seed', field: 'p99', title: 'seed: p99 latency', unit: 'ms', higherIsBetter: false, tolerance: 0.3 },
  { scenario: 'flood', field: 'perSecond', title: 'flood: delivered messages per second', unit: 'msg/s', higherIsBetter: true, tolerance: 0.2 },
  {
    scenario: 'flood', field: 'perSecond', peer: 'wirecam-w2', per: 'wirecam',
    title: 'flood: delivered msg/s with --workers 2 over --workers 1', unit: '×', higherIsBetter: true, tolerance: 0.25,
  },
  { scenario: 'idle', field: 'rssMiB', title: 'idle: server RSS with 1,000 clients', unit: 'MiB', higherIsBetter: false, tolerance: 0.05 },
];

/** The wirecam peers a scenario's guarded figures need runs of, in a fixed order ('wirecam' first). */
export function peersOf(figures: readonly GuardedFigure[], scenario: string): PeerName[] {
  const peers = new Set<PeerName>();
  for (const f of figures) {
    if (f.scenario !== scenario) continue;
    peers.add(f.peer ?? 'wirecam');
    if (f.per !== undefined) peers.add(f.per);
  }
  return [...peers].sort((a, b) => (a === 'wirecam' ? -1 : b === 'wirecam' ? 1 : a.localeCompare(b)));
}

/**
 * One build's value of `figure` in one pair, from its runs (`run(peer)`: the result, or
 * undefined when that run failed or did not happen). Undefined when a run it needs is missing
 * or the divisor is 0 (the judge counts a missing candidate figure as worse, and leaves a
 * pair with a missing reference figure out).
 */
export function figureValue(figure: GuardedFigure, run: (peer: PeerName) => RunResult | undefined): number | undefined {
  const value = run(figure.peer ?? 'wirecam')?.[figure.field];
  if (value === undefined || figure.per === undefined) return value;
  const divisor = run(figure.per)?.[figure.field];
  return divisor === undefined || divisor === 0 ? undefined : value / divisor;
}
