// The regression guard's decision rule (bench/judge.ts): pairs of figures in, verdict out.
// A difference fails only when it repeats: worse beyond the tolerance in at least three
// quarters of the interleaved pairs AND by the median ratio.
import { describe, expect, it } from 'vitest';
import { judge, majorityOf, median, type Direction, type Pair } from '../../bench/judge.js';

const cost: Direction = { higherIsBetter: false, tolerance: 0.1 };
const throughput: Direction = { higherIsBetter: true, tolerance: 0.1 };

/** Pairs from [reference, candidate] tuples. */
const pairs = (...figures: Array<[number, number | null]>): Pair[] => figures.map(([reference, candidate]) => ({ reference, candidate }));

describe('majorityOf', () => {
  it('asks for three quarters of the pairs, rounded up', () => {
    expect([1, 2, 3, 4, 5, 6, 8].map(majorityOf)).toEqual([1, 2, 3, 3, 4, 5, 6]);
  });
});

describe('median', () => {
  it('takes the middle value, or the mean of the middle two', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeUndefined();
  });
});

describe('judge', () => {
  it('passes the same build against itself: noise both ways, no repeat', () => {
    const j = judge(pairs([6.8, 7.1], [7.0, 6.6], [6.9, 7.3], [7.2, 6.9]), cost);
    expect(j.verdict).toBe('ok');
    expect(j.worsePairs).toBe(0);
    expect(j.pairs).toBe(4);
  });

  it('fails a cost that is worse in every pair', () => {
    const j = judge(pairs([6.8, 9.0], [7.0, 9.4], [6.9, 8.8], [7.2, 9.9]), cost);
    expect(j.verdict).toBe('worse');
    expect(j.worsePairs).toBe(4);
    expect(j.needed).toBe(3);
    expect(j.referenceMedian).toBeCloseTo(6.95);
    expect(j.candidateMedian).toBeCloseTo(9.2);
    expect(j.medianRatio).toBeCloseTo(9.2 / 6.95);
  });

  it('passes one bad pair out of four, however bad (a noisy moment, not a repeat)', () => {
    const j = judge(pairs([6.8, 30], [7.0, 7.0], [6.9, 7.0], [7.2, 7.1]), cost);
    expect(j.worsePairs).toBe(1);
    expect(j.verdict).toBe('ok');
  });

  it('passes two worse pairs of four: half is not a clear majority', () => {
    const j = judge(pairs([6.8, 8.0], [7.0, 8.1], [6.9, 7.0], [7.2, 7.1]), cost);
    expect(j.worsePairs).toBe(2);
    expect(j.verdict).toBe('ok');
  });

  it('fails three worse pairs of four when the medians differ beyond the tolerance too', () => {
    const j = judge(pairs([10, 12], [10, 12], [10, 12], [10, 10]), cost);
    expect(j.worsePairs).toBe(3);
    expect(j.medianRatio).toBeCloseTo(1.2);
    expect(j.verdict).toBe('worse');
  });

  it('passes when the pairs say worse but the medians do not (both conditions are needed)', () => {
    // The machine got busier pair by pair: three pairs 11-12% worse, one much better; the
    // candidate's median (12.7) is below the reference's (13.0).
    const j = judge(pairs([10, 11.2], [12, 13.4], [14, 15.6], [16, 12]), cost);
    expect(j.worsePairs).toBe(3);
    expect(j.needed).toBe(3);
    expect(j.medianRatio).toBeCloseTo(12.7 / 13);
    expect(j.verdict).toBe('ok');
  });

  it('passes when the medians say worse but too few pairs do', () => {
    // Medians 10 vs 13 (1.3x), but only 2 of 4 pairs are worse beyond 10%.
    const j = judge(pairs([10, 13], [10, 13], [8, 8], [14, 14]), cost);
    expect(j.medianRatio).toBeCloseTo(1.3);
    expect(j.worsePairs).toBe(2);
    expect(j.verdict).toBe('ok');
  });

  it('judges throughput the other way round: lower is worse', () => {
    const slower = judge(pairs([1000, 800], [1000, 820], [1000, 790], [1000, 850]), throughput);
    expect(slower.verdict).toBe('worse');
    const faster = judge(pairs([1000, 1300], [1000, 1250], [1000, 1400], [1000, 1200]), throughput);
    expect(faster.verdict).toBe('ok');
    expect(faster.worsePairs).toBe(0);
  });

  it('does not fail a cost that got better', () => {
    expect(judge(pairs([10, 6], [10, 5], [10, 6]), cost).verdict).toBe('ok');
  });

  it('counts a failed candidate run as worse', () => {
    const j = judge(pairs([10, null], [10, null], [10, null], [10, 10]), cost);
    expect(j.worsePairs).toBe(3);
    expect(j.candidateMedian).toBe(Infinity);
    expect(j.verdict).toBe('worse');
    const t = judge(pairs([1000, null], [1000, null], [1000, null]), throughput);
    expect(t.candidateMedian).toBe(0);
    expect(t.verdict).toBe('worse');
  });

  it('leaves out pairs without a usable reference, and says when none is left', () => {
    const some = judge(pairs([0, 5], [Number.NaN, 5], [10, 10.5]), cost);
    expect(some.pairs).toBe(1);
    expect(some.verdict).toBe('ok');
    const none = judge(pairs([0, 5]), cost);
    expect(none.verdict).toBe('no data');
    expect(judge([], cost).verdict).toBe('no data');
  });

  it('uses the tolerance as given: exactly 10% worse is not beyond 10%', () => {
    expect(judge(pairs([100, 110], [100, 110], [100, 110]), cost).verdict).toBe('ok');
    expect(judge(pairs([100, 110.5], [100, 110.5], [100, 110.5]), cost).verdict).toBe('worse');
  });
});
