// `npm run soak -- --seconds 60 [--clients 1000] [--rate 60]`: a bounded soak.
// (`npm run soak -- --stalled 40 [--tiles 200000]`: clients that stop reading instead; see
// bench/stalled.ts.) A wirecam
// server process, a thousand clients (the bench's load generator) and a 60 Hz producer; the
// server's RSS and heap are sampled every second and printed, and the run fails when memory
// keeps growing. After a warm-up, a line is fitted through the heap's low points (one per
// 5 s: the level after collections) and through RSS; the growth it shows over the run must
// stay under a bound: a rate per minute, but never less than a floor, since a short run's
// fit is mostly noise.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { buildLoadgen } from './e2e.js';
import { rssMiB } from './procstat.js';
import { describeStalled, stalledClients } from './stalled.js';
import { listeningPort } from './listening.js';

export interface SoakSummary {
  seconds: number;
  clients: number;
  delivered: number;
  samples: Array<{ t: number; rssMiB: number; heapMiB: number }>;
  /** MiB per minute after the warm-up: heap low points and RSS. */
  heapSlopeMiBPerMin: number;
  rssSlopeMiBPerMin: number;
  /** What the fitted lines grow by over the measured part, and the bounds for this length. */
  heapGrowthMiB: number;
  rssGrowthMiB: number;
  heapBoundMiB: number;
  rssBoundMiB: number;
  closedClients: number;
  ok: boolean;
}

const HEAP_GROWTH_PER_MIN = 2; // MiB
const HEAP_GROWTH_FLOOR = 4; // MiB
const RSS_GROWTH_PER_MIN = 8; // MiB
const RSS_GROWTH_FLOOR = 16; // MiB
const WARM_UP_S = 10;

function argument(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  return index === -1 ? fallback : Number(process.argv[index + 1]);
}

const signed = (value: number) => `${value >= 0 ? '+' : ''}${value.toFixed(2)}`;

/** Least-squares slope of y over x. */
export function slope(points: ReadonlyArray<[number, number]>): number {
  const n = points.length;
  if (n < 2) return 0;
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  const num = points.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0);
  const den = points.reduce((s, [x]) => s + (x - mx) ** 2, 0);
  return den === 0 ? 0 : num / den;
}

const children: ChildProcess[] = [];
function killAll(): void {
  for (const child of children) if (child.pid !== undefined && child.exitCode === null) process.kill(child.pid, 'SIGKILL');
}
process.on('exit', killAll);

async function heapUsedMiB(port: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const match = /^wirecam_nodejs_heap_size_used_bytes (\S+)/m.exec(text);
  return match ? Number(match[1]) / 1024 / 1024 : Number.NaN;
}

export async function soak(seconds: number, clients: number, rate: number, log: (line: string) => void): Promise<SoakSummary> {
  const root = fileURLToPath(new URL('../', import.meta.url));
  const dir = mkdtempSync(join(tmpdir(), 'wirecam-soak-'));
  const db = join(dir, 'soak.db');
  try {
    const server = spawn(process.execPath, [join(root, 'src/cli.js'), 'serve', '--port', '0', '--db', db, '--log-level', 'info', '--max-connections-per-ip', '0'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.push(server);
    const port = await listeningPort(server);
    const loadgen = spawn(buildLoadgen(), ['wirecam', '127.0.0.1', String(port), String(clients), '/?camera=main', '1', 'cam.>'], { stdio: ['pipe', 'pipe', 'inherit'] });
    children.push(loadgen);
    const answers: string[] = [];
    createInterface({ input: loadgen.stdout! }).on('line', (line) => answers.push(line));
    const next = async (match: string) => {
      for (let waited = 0; waited < 60_000; waited += 20) {
        const index = answers.findIndex((a) => a.includes(match));
        if (index !== -1) return JSON.parse(answers.splice(index, 1)[0]!) as Record<string, number>;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      throw new Error(`load generator did not answer (${match})`);
    };
    await next('"ready"');
    const producer = spawn(
      process.execPath,
      [join(root, 'bench/load/producer.js'), JSON.stringify({ mode: 'sqlite', db, cameras: 1, rateHz: rate, durationMs: seconds * 1000 })],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    );
    children.push(producer);
    loadgen.stdin!.write('reset\n');
    await next('"reset"');
    const samples: SoakSummary['samples'] = [];
    const started = Date.now();
    for (let t = 1; t <= seconds; t++) {
      await new Promise((resolve) => setTimeout(resolve, started + t * 1000 - Date.now()));
      const sample = { t, rssMiB: rssMiB(server.pid!), heapMiB: await heapUsedMiB(port) };
      samples.push(sample);
      if (t % 5 === 0 || t === seconds) log(`soak: ${String(t).padStart(4)} s  RSS ${sample.rssMiB.toFixed(1)} MiB  heap ${sample.heapMiB.toFixed(1)} MiB`);
    }
    loadgen.stdin!.write('report\n');
    const report = await next('"messages"');
    // After the warm-up: the heap's low points (one per 5 s window, the level after GCs), and RSS.
    const measured = samples.filter((s) => s.t > Math.min(WARM_UP_S, seconds / 3));
    const lows: Array<[number, number]> = [];
    for (let i = 0; i < measured.length; i += 5) {
      const window = measured.slice(i, i + 5);
      const low = window.reduce((a, b) => (b.heapMiB < a.heapMiB ? b : a));
      lows.push([low.t / 60, low.heapMiB]);
    }
    const minutes = measured.length / 60;
    const heapSlope = slope(lows);
    const rssSlope = slope(measured.map((s) => [s.t / 60, s.rssMiB]));
    const heapBound = Math.max(HEAP_GROWTH_FLOOR, HEAP_GROWTH_PER_MIN * minutes);
    const rssBound = Math.max(RSS_GROWTH_FLOOR, RSS_GROWTH_PER_MIN * minutes);
    return {
      seconds,
      clients,
      delivered: report.messages!,
      samples,
      heapSlopeMiBPerMin: heapSlope,
      rssSlopeMiBPerMin: rssSlope,
      heapGrowthMiB: heapSlope * minutes,
      rssGrowthMiB: rssSlope * minutes,
      heapBoundMiB: heapBound,
      rssBoundMiB: rssBound,
      closedClients: report.closed!,
      ok: heapSlope * minutes < heapBound && rssSlope * minutes < rssBound && report.closed === 0,
    };
  } finally {
    killAll();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv.includes('--stalled')) {
  stalledClients(argument('stalled', 40), argument('tiles', 200_000), (line) => process.stdout.write(`${line}\n`)).then(
    (summary) => {
      process.stdout.write(`${describeStalled(summary)}\n${JSON.stringify(summary)}\n`);
      process.exit(0);
    },
    (error: unknown) => {
      process.stderr.write(`soak: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(2);
    },
  );
} else if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const seconds = argument('seconds', 60);
  const clients = argument('clients', 1000);
  const rate = argument('rate', 60);
  soak(seconds, clients, rate, (line) => process.stdout.write(`${line}\n`)).then(
    (summary) => {
      process.stdout.write(
        `soak: ${summary.clients} clients, ${rate} Hz, ${summary.seconds} s: ${summary.delivered.toLocaleString('en-US')} messages delivered, ` +
          `${summary.closedClients} clients lost; after the warm-up heap ${signed(summary.heapGrowthMiB)} MiB (${signed(summary.heapSlopeMiBPerMin)}/min, bound ${summary.heapBoundMiB.toFixed(0)}), ` +
          `RSS ${signed(summary.rssGrowthMiB)} MiB (${signed(summary.rssSlopeMiBPerMin)}/min, bound ${summary.rssBoundMiB.toFixed(0)}): ${summary.ok ? 'flat' : 'GROWING'}\n`,
      );
      const { samples: _samples, ...figures } = summary;
      process.stdout.write(`${JSON.stringify(figures)}\n`);
      process.exit(summary.ok ? 0 : 1);
    },
    (error: unknown) => {
      process.stderr.write(`soak: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(2);
    },
  );
}
