// Scraping GET /metrics like Prometheus does, and reading samples out of the text format.

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export class Scrape {
  constructor(
    readonly text: string,
    readonly samples: readonly Sample[],
    readonly contentType: string,
  ) {}

  /** The sample with exactly these labels (a subset match); throws when there is none. */
  value(name: string, labels: Record<string, string> = {}): number {
    const found = this.find(name, labels);
    if (found === undefined) throw new Error(`no sample ${name}${JSON.stringify(labels)} in the scrape`);
    return found.value;
  }

  find(name: string, labels: Record<string, string> = {}): Sample | undefined {
    return this.samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  }

  has(name: string): boolean {
    return this.samples.some((s) => s.name === name);
  }

  /** Declared metric families (# TYPE lines). */
  families(): Map<string, string> {
    const types = new Map<string, string>();
    for (const match of this.text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) types.set(match[1]!, match[2]!);
    return types;
  }
}

export function parseMetrics(text: string, contentType = ''): Scrape {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) throw new Error(`not a Prometheus sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const pair of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[pair[1]!] = pair[2]!;
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return new Scrape(text, samples, contentType);
}

export async function scrape(httpUrl: string): Promise<Scrape> {
  const response = await fetch(`${httpUrl}/metrics`);
  if (response.status !== 200) throw new Error(`GET /metrics answered ${response.status}`);
  return parseMetrics(await response.text(), response.headers.get('content-type') ?? '');
}
