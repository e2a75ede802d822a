// The Prometheus text exposition format, read generically: `wirecam top` shows whatever of
// the metrics it knows the server exports, and leaves out what is missing, so it works with
// servers older or newer than itself.
// Hand-written: prom-client has no parser; parse-prometheus-text-format 1.1.1 merges the
// series of a labelled histogram into one (losing all but the last), takes "not a sample line"
// as a sample and throws the whole scrape away for one line it cannot read; prom2javascript
// 0.2.0 refuses a scrape with a NaN value, which the format allows.

/**
 * One sample line of the Prometheus text exposition format: metric name, labels, value (NaN and
 * ±Inf allowed; the timestamp, if any, is dropped).
 */
export interface Sample {
  name: string;
  labels: Readonly<Record<string, string>>;
  value: number;
}

const SAMPLE_LINE = /^([A-Za-z_:][A-Za-z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\S+)?\s*$/;
const LABEL = /\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*,?/y;

function parseValue(text: string): number {
  if (text === '+Inf' || text === 'Inf') return Number.POSITIVE_INFINITY;
  if (text === '-Inf') return Number.NEGATIVE_INFINITY;
  return Number(text); // NaN stays NaN
}

function unescapeLabel(text: string): string {
  return text.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
}

function parseLabels(text: string): Record<string, string> | null {
  const labels: Record<string, string> = {};
  LABEL.lastIndex = 0;
  while (LABEL.lastIndex < text.length) {
    const start = LABEL.lastIndex;
    const match = LABEL.exec(text);
    if (match === null) return text.slice(start).trim() === '' ? labels : null;
    labels[match[1]!] = unescapeLabel(match[2]!);
  }
  return labels;
}

/** Every sample of a scrape; comment lines and lines that do not parse are skipped. */
export function parsePrometheusText(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = SAMPLE_LINE.exec(line);
    if (match === null) continue;
    const labels = match[2] === undefined ? {} : parseLabels(match[2]);
    if (labels === null) continue;
    samples.push({ name: match[1]!, labels, value: parseValue(match[3]!) });
  }
  return samples;
}

/** Label values a sample must have, by label name; others may have any value. */
export type LabelFilter = Readonly<Record<string, string>>;

function matches(sample: Sample, filter: LabelFilter): boolean {
  return Object.entries(filter).every(([key, value]) => sample.labels[key] === value);
}

/** One scrape, with the questions the dashboard asks of it. */
export class Scrape {
  constructor(readonly samples: readonly Sample[]) {}

  /** A scrape from the text of GET /metrics; never throws (unreadable lines are skipped). */
  static parse(text: string): Scrape {
    return new Scrape(parsePrometheusText(text));
  }

  /** True when the scrape has at least one sample named `name`. */
  has(name: string): boolean {
    return this.samples.some((s) => s.name === name);
  }

  /** Sum of a metric's samples (optionally only those with some labels), or null when absent. */
  sum(name: string, filter: LabelFilter = {}): number | null {
    let total: number | null = null;
    for (const s of this.samples) if (s.name === name && matches(s, filter)) total = (total ?? 0) + s.value;
    return total;
  }

  /** Sums by the values of one label, e.g. clients by encoding. */
  sumBy(name: string, label: string): Map<string, number> {
    const sums = new Map<string, number>();
    for (const s of this.samples) {
      if (s.name !== name) continue;
      const key = s.labels[label] ?? '';
      sums.set(key, (sums.get(key) ?? 0) + s.value);
    }
    return sums;
  }

  /** Cumulative bucket counts of a histogram, summed over its other labels, by upper bound. */
  buckets(histogram: string): Array<{ le: number; count: number }> {
    const byBound = new Map<number, number>();
    for (const s of this.samples) {
      if (s.name !== `${histogram}_bucket` || s.labels.le === undefined) continue;
      const le = parseValue(s.labels.le);
      byBound.set(le, (byBound.get(le) ?? 0) + s.value);
    }
    return [...byBound.entries()].sort((a, b) => a[0] - b[0]).map(([le, count]) => ({ le, count }));
  }

  /** The first histogram whose name matches, e.g. /latency/. */
  findHistogram(pattern: RegExp): string | null {
    for (const s of this.samples) {
      if (s.name.endsWith('_bucket') && pattern.test(s.name)) return s.name.slice(0, -'_bucket'.length);
    }
    return null;
  }
}

/**
 * The q-quantile (0..1) of a histogram's observations, interpolated linearly inside the
 * bucket where it falls, as Prometheus's histogram_quantile does. `buckets` may be the
 * difference of two scrapes, for the observations between them. Null without observations.
 */
export function histogramQuantile(q: number, buckets: ReadonlyArray<{ le: number; count: number }>): number | null {
  if (buckets.length === 0) return null;
  const total = buckets[buckets.length - 1]!.count;
  if (!(total > 0)) return null;
  const rank = q * total;
  let previousBound = 0;
  let previousCount = 0;
  for (const { le, count } of buckets) {
    if (count >= rank) {
      // Above the last finite bound nothing is known but that bound.
      if (!Number.isFinite(le)) return previousBound;
      const inBucket = count - previousCount;
      return inBucket <= 0 ? le : previousBound + (le - previousBound) * ((rank - previousCount) / inBucket);
    }
    previousBound = le;
    previousCount = count;
  }
  return previousBound;
}

/** Bucket counts of `now` minus those of `before` (observations between two scrapes). */
export function bucketDelta(
  now: ReadonlyArray<{ le: number; count: number }>,
  before: ReadonlyArray<{ le: number; count: number }>,
): Array<{ le: number; count: number }> {
  const old = new Map(before.map((b) => [b.le, b.count]));
  return now.map(({ le, count }) => ({ le, count: Math.max(0, count - (old.get(le) ?? 0)) }));
}
