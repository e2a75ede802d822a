// The regression guard's decision rule, as a pure function: figures of interleaved pairs of
// runs (the reference build and the candidate build, one after the other on the same
// machine) in, a verdict out. A difference counts only when it repeats: the candidate must
// be worse beyond the tolerance in a clear majority of the pairs (a paired test: each pair
// shares the machine's noise of its moment) AND its median figure must be beyond the
// tolerance of the reference's median (the typical level, not moved by one spike). The
// second is not implied by the first: when the machine's load changes between pairs, the
// pairs' ratios and the medians can disagree.

/** One interleaved pair: the same scenario and figure, reference and candidate run back to back. */
export interface Pair {
  /** The reference build's figure (e.g. µs of CPU per delivered message); must be > 0 to count. */
  reference: number;
  /** The candidate build's figure, or null when the candidate's run failed (counts as worse). */
  candidate: number | null;
}

/** Which way is better for a figure, and how much worse is still noise. */
export interface Direction {
  /** true for throughput (msg/s); false for costs (CPU per message, latency, memory). */
  higherIsBetter: boolean;
  /**
   * Relative tolerance, e.g. 0.1: a pair is worse when candidate/reference > 1.1 (lower is
   * better) or < 0.9 (higher is better).
   */
  tolerance: number;
}

/** The verdict on one figure over all its pairs. */
export interface Judgement {
  /** 'worse': the rule below holds; 'ok': it does not; 'no data': no pair had a usable reference. */
  verdict: 'ok' | 'worse' | 'no data';
  /** Pairs counted (those whose reference figure is finite and > 0). */
  pairs: number;
  /** Pairs in which the candidate was worse beyond the tolerance. */
  worsePairs: number;
  /** Worse pairs needed to fail: majorityOf(pairs). */
  needed: number;
  /** candidateMedian / referenceMedian. */
  medianRatio: number | undefined;
  /**
   * Medians over the counted pairs of the reference's and the candidate's figures; a failed
   * candidate run counts as the worst figure (Infinity for a cost, 0 for throughput).
   */
  referenceMedian: number | undefined;
  candidateMedian: number | undefined;
}

/** The rule in words, printed by `bench:check` and quoted in the README. */
export const RULE =
  'a figure fails only when the candidate is worse than the reference beyond its tolerance in at least ' +
  'three quarters of the interleaved pairs (rounded up) AND the median of the candidate\'s figures is ' +
  'worse than the median of the reference\'s beyond the same tolerance';

/** Worse pairs needed to call a difference repeated: three quarters of `pairs`, rounded up (3 of 3, 3 of 4, 4 of 5, 6 of 8). */
export function majorityOf(pairs: number): number {
  return Math.ceil((3 * pairs) / 4);
}

/** The median of `values` (the mean of the middle two for an even count); undefined when empty. */
export function median(values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** Is a ratio candidate / reference beyond the tolerance on the worse side? */
export function ratioIsWorse(ratio: number, direction: Direction): boolean {
  return direction.higherIsBetter ? ratio < 1 - direction.tolerance : ratio > 1 + direction.tolerance;
}

/**
 * Judges one figure over its interleaved pairs with the rule in RULE. Pairs whose reference
 * figure is not a finite number > 0 are left out (nothing to compare with); a pair whose
 * candidate run failed (null) counts as worse. Pure: no I/O, no clock.
 */
export function judge(pairs: readonly Pair[], direction: Direction): Judgement {
  const usable = pairs.filter((p) => Number.isFinite(p.reference) && p.reference > 0);
  const failed = direction.higherIsBetter ? 0 : Infinity;
  const candidates = usable.map((p) => (p.candidate === null || Number.isNaN(p.candidate) ? failed : p.candidate));
  const worsePairs = usable.filter((p, i) => ratioIsWorse(candidates[i]! / p.reference, direction)).length;
  const needed = majorityOf(usable.length);
  const referenceMedian = median(usable.map((p) => p.reference));
  const candidateMedian = median(candidates);
  const medianRatio = referenceMedian === undefined || candidateMedian === undefined ? undefined : candidateMedian / referenceMedian;
  let verdict: Judgement['verdict'] = 'ok';
  if (usable.length === 0) verdict = 'no data';
  else if (worsePairs >= needed && ratioIsWorse(medianRatio!, direction)) verdict = 'worse';
  return { verdict, pairs: usable.length, worsePairs, needed, medianRatio, referenceMedian, candidateMedian };
}
