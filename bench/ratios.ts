// The figures the targets and the regression guard are about: ratios between peers measured
// in the same run, so that the machine's speed cancels out.
import type { PeerName, RunResult } from './e2e.js';

export interface Ratios {
  seedCpuVsRawTcp?: number;
  seedCpuVsPlainWs?: number;
  seedP99VsRawTcp?: number;
  floodVsRawTcp?: number;
  floodVsNats?: number;
  manyVsNats?: number;
  idleRssOverRawTcpMiB?: number;
  /** The same, counting only what the 1,000 clients added (each server's own size left out). */
  idleClientsRssOverRawTcpMiB?: number;
  /** Flood: delivered messages per second with `--workers 2` over `--workers 1`, same build, same run. */
  floodWorkersScaling?: number;
  /** 5,000 clients at 60 Hz: delivered over offered deliveries per second, `--workers 1` (fraction, 1 = all). */
  fivekDeliveredW1?: number;
  /** The same with `--workers 2`. */
  fivekDeliveredW2?: number;
}

/** For the regression guard: does a larger value mean better or worse? */
export const HIGHER_IS_BETTER: Record<keyof Ratios, boolean> = {
  seedCpuVsRawTcp: false,
  seedCpuVsPlainWs: false,
  seedP99VsRawTcp: false,
  floodVsRawTcp: true,
  floodVsNats: true,
  manyVsNats: true,
  idleRssOverRawTcpMiB: false,
  idleClientsRssOverRawTcpMiB: false,
  floodWorkersScaling: true,
  fivekDeliveredW1: true,
  fivekDeliveredW2: true,
};

type Scenarios = Record<string, Partial<Record<PeerName, RunResult>>>;

function clientsRss(result: RunResult | undefined): number | undefined {
  return result?.rssWithoutClientsMiB === undefined ? undefined : result.rssMiB - result.rssWithoutClientsMiB;
}

function ratio(scenarios: Scenarios, id: string, field: 'cpuUsPerMessage' | 'p99' | 'perSecond', other: PeerName, mine: PeerName = 'wirecam'): number | undefined {
  const ours = scenarios[id]?.[mine]?.[field];
  const theirs = scenarios[id]?.[other]?.[field];
  return ours === undefined || theirs === undefined || theirs === 0 ? undefined : ours / theirs;
}

/**
 * Delivered over offered deliveries per second of one run (1 = everything offered arrived);
 * undefined without a run or without an offered rate (a flood offers whatever is taken).
 */
export function deliveredFraction(result: RunResult | undefined): number | undefined {
  return result?.offeredPerSecond === undefined || result.offeredPerSecond === 0 ? undefined : result.perSecond / result.offeredPerSecond;
}

export function computeRatios(scenarios: Scenarios): Ratios {
  const idleWirecam = scenarios.idle?.wirecam?.rssMiB;
  const idleRaw = scenarios.idle?.['raw-tcp']?.rssMiB;
  return {
    seedCpuVsRawTcp: ratio(scenarios, 'seed', 'cpuUsPerMessage', 'raw-tcp'),
    seedCpuVsPlainWs: ratio(scenarios, 'seed', 'cpuUsPerMessage', 'ws-plain'),
    seedP99VsRawTcp: ratio(scenarios, 'seed', 'p99', 'raw-tcp'),
    floodVsRawTcp: ratio(scenarios, 'flood', 'perSecond', 'raw-tcp'),
    floodVsNats: ratio(scenarios, 'flood', 'perSecond', 'nats'),
    manyVsNats: ratio(scenarios, 'many', 'perSecond', 'nats'),
    floodWorkersScaling: ratio(scenarios, 'flood', 'perSecond', 'wirecam', 'wirecam-w2'),
    fivekDeliveredW1: deliveredFraction(scenarios.fivek?.wirecam),
    fivekDeliveredW2: deliveredFraction(scenarios.fivek?.['wirecam-w2']),
    idleRssOverRawTcpMiB: idleWirecam === undefined || idleRaw === undefined ? undefined : idleWirecam - idleRaw,
    idleClientsRssOverRawTcpMiB: clientsRss(scenarios.idle?.wirecam) === undefined || clientsRss(scenarios.idle?.['raw-tcp']) === undefined
      ? undefined
      : clientsRss(scenarios.idle?.wirecam)! - clientsRss(scenarios.idle?.['raw-tcp'])!,
  };
}
