// What bench:check guards and how each figure is read from one build's runs of a pair
// (bench/guarded.ts), and the bench's derived figures for --workers (bench/ratios.ts).
import { describe, expect, it } from 'vitest';
import type { PeerName, RunResult } from '../../bench/e2e.js';
import { figureValue, GUARDED, peersOf, type GuardedFigure } from '../../bench/guarded.js';
import { computeRatios, deliveredFraction } from '../../bench/ratios.js';

/** A run with the figures a test sets; the rest zero. */
function run(peer: PeerName, figures: Partial<RunResult>): RunResult {
  return {
    peer, scenario: 'flood', clients: 1000, delivered: 0, perSecond: 0, cpuSeconds: 0, cpuUsPerMessage: 0, p50: 0, p99: 0, rssMiB: 0,
    finalCorrect: 0, closedClients: 0, loadgenCpuSeconds: 0, published: 0, ...figures,
  };
}

const scaling = GUARDED.find((g) => g.per !== undefined)!;
const flood = GUARDED.find((g) => g.scenario === 'flood' && g.per === undefined)!;

describe('GUARDED', () => {
  it('guards the flood scaling from --workers 1 to --workers 2, higher is better', () => {
    expect(scaling).toMatchObject({ scenario: 'flood', field: 'perSecond', peer: 'wirecam-w2', per: 'wirecam', higherIsBetter: true });
  });
});

describe('peersOf', () => {
  it('asks for the runs a scenario figures need: both process counts for the flood, one process elsewhere', () => {
    expect(peersOf(GUARDED, 'flood')).toEqual(['wirecam', 'wirecam-w2']);
    expect(peersOf(GUARDED, 'seed')).toEqual(['wirecam']);
    expect(peersOf(GUARDED, 'none')).toEqual([]);
  });
});

describe('figureValue', () => {
  const runs = (list: RunResult[]) => (peer: PeerName) => list.find((r) => r.peer === peer);

  it('reads a plain figure from the one-process run', () => {
    expect(figureValue(flood, runs([run('wirecam', { perSecond: 1e6 }), run('wirecam-w2', { perSecond: 1.6e6 })]))).toBe(1e6);
  });

  it('divides --workers 2 by --workers 1 of the same build', () => {
    expect(figureValue(scaling, runs([run('wirecam', { perSecond: 1e6 }), run('wirecam-w2', { perSecond: 1.6e6 })]))).toBeCloseTo(1.6, 12);
  });

  it('has no value when a run it needs failed or its divisor is 0', () => {
    expect(figureValue(scaling, runs([run('wirecam', { perSecond: 1e6 })]))).toBeUndefined();
    expect(figureValue(scaling, runs([run('wirecam-w2', { perSecond: 1e6 })]))).toBeUndefined();
    expect(figureValue(scaling, runs([run('wirecam', { perSecond: 0 }), run('wirecam-w2', { perSecond: 1e6 })]))).toBeUndefined();
    const cost: GuardedFigure = { scenario: 'seed', field: 'cpuUsPerMessage', title: 't', unit: 'µs', higherIsBetter: false, tolerance: 0.1 };
    expect(figureValue(cost, runs([]))).toBeUndefined();
  });
});

describe('computeRatios for --workers', () => {
  it('gives the flood scaling and the share of offered deliveries at 5,000 clients', () => {
    const ratios = computeRatios({
      flood: { wirecam: run('wirecam', { perSecond: 800_000 }), 'wirecam-w2': run('wirecam-w2', { perSecond: 1_400_000 }) },
      fivek: {
        wirecam: run('wirecam', { perSecond: 270_000, offeredPerSecond: 300_000 }),
        'wirecam-w2': run('wirecam-w2', { perSecond: 297_000, offeredPerSecond: 300_000 }),
      },
    });
    expect(ratios.floodWorkersScaling).toBeCloseTo(1.75, 12);
    expect(ratios.fivekDeliveredW1).toBeCloseTo(0.9, 12);
    expect(ratios.fivekDeliveredW2).toBeCloseTo(0.99, 12);
  });

  it('leaves them out without the runs, and a flood has no offered rate', () => {
    const ratios = computeRatios({ flood: { wirecam: run('wirecam', { perSecond: 800_000 }) } });
    expect(ratios.floodWorkersScaling).toBeUndefined();
    expect(ratios.fivekDeliveredW2).toBeUndefined();
    expect(deliveredFraction(run('wirecam', { perSecond: 5 }))).toBeUndefined();
    expect(deliveredFraction(undefined)).toBeUndefined();
  });
});
