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
};

type Scenarios = Record<string, Partial<Record<PeerName, RunResult>>>;

function clientsRss(result: RunResult | undefined): number | undefined {
  return result?.rssWithoutClientsMiB === undefined ? undefined : result.rssMiB - result.rssWithoutClientsMiB;
}

function ratio(scenarios: Scenarios, id: string, field: 'cpuUsPerMessage' | 'p99' | 'perSecond', other: PeerName): number | undefined {
  const mine = scenarios[id]?.wirecam?.[field];
  const theirs = scenarios[id]?.[other]?.[field];
  return mine === undefined || theirs === undefined || theirs === 0 ? undefined : mine / theirs;
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
    idleRssOverRawTcpMiB: idleWirecam === undefined || idleRaw === undefined ? undefined : idleWirecam - idleRaw,
    idleClientsRssOverRawTcpMiB: clientsRss(scenarios.idle?.wirecam) === undefined || clientsRss(scenarios.idle?.['raw-tcp']) === undefined
      ? undefined
      : clientsRss(scenarios.idle?.wirecam)! - clientsRss(scenarios.idle?.['raw-tcp'])!,
  };
}
