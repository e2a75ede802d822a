// `npm run bench`: the hot-path micro suites and the end-to-end scenarios, every peer in the
// same run, one table on stdout and bench/results/latest.json on disk.
//   --quick        shorter windows, one run per peer (what `npm run bench:check -- --update-baseline` uses)
//   --runs N       runs per peer and scenario; the median is reported (default 3)
//   --peers a,b    only these peers (default: all that are available)
//   --scenarios x  only these scenarios (ids below)
//   --no-micro     skip the micro suites
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { execFileSync } from 'node:child_process';
import { PEERS, PEER_TITLES, ensureNats, socketIoAvailable, runScenario, buildLoadgen, type PeerName, type RunResult, type Scenario } from './e2e.js';
import { fdLimit } from './procstat.js';
import { computeRatios, deliveredFraction, type Ratios } from './ratios.js';
import type { MicroResult } from './micro.js';
import type { AllocationReport } from './micro-main.js';
import { Progress } from '../src/progress.js';

export interface BenchResults {
  date: string;
  machine: { cpus: number; model: string; node: string; fdLimit: number };
  quick: boolean;
  runs: number;
  micro: MicroResult[];
  allocation: AllocationReport | null;
  scenarios: Record<string, Partial<Record<PeerName, RunResult>>>;
  /** Every run behind each median, in the order run. */
  runsByScenario: Record<string, Partial<Record<PeerName, RunResult[]>>>;
  ratios: Ratios;
  notes: string[];
}

function args() {
  const argv = process.argv.slice(2);
  const value = (name: string) => {
    const i = argv.indexOf(`--${name}`);
    return i === -1 ? undefined : argv[i + 1];
  };
  const quick = argv.includes('--quick');
  return {
    quick,
    runs: Number(value('runs') ?? (quick ? 1 : 3)),
    peers: value('peers')?.split(',') as PeerName[] | undefined,
    scenarios: value('scenarios')?.split(','),
    skipMicro: argv.includes('--no-micro'),
  };
}

export function scenarios(quick: boolean): Scenario[] {
  const window = quick ? 4 : 10;
  return [
    { id: 'seed', title: 'N=1000 clients, 1 camera at 60 Hz', clients: 1000, cameras: 1, rateHz: 60, warmupS: 2, windowS: window, loadgens: 1, wirecamArgs: ['--max-hz', '60'] },
    { id: 'flood', title: 'N=1000, 1 camera, published as fast as clients take it', clients: 1000, cameras: 1, rateHz: 0, warmupS: 2, windowS: quick ? 3 : 5, loadgens: 1, wirecamArgs: ['--max-hz', '10000', '--burst', '100'] },
    { id: 'many', title: 'N=1000 clients x 20 cameras at 60 Hz (1.2 M/s offered)', clients: 1000, cameras: 20, rateHz: 60, warmupS: 2, windowS: window, loadgens: 1, wirecamArgs: ['--max-hz', '60'] },
    { id: 'idle', title: 'N=1000 idle clients', clients: 1000, cameras: 1, rateHz: 0, warmupS: 2, windowS: 0, loadgens: 1, wirecamArgs: [], idle: true },
    { id: 'tenk', title: 'N=10,000 clients, 1 camera at 1 Hz', clients: 10_000, cameras: 1, rateHz: 1, warmupS: 3, windowS: quick ? 5 : 10, loadgens: 2, wirecamArgs: ['--max-hz', '60'] },
    // Two load generators, as for 10,000 clients: one epoll loop holding 5,000 sockets at
    // 300,000 messages/s would be the bottleneck on its own.
    { id: 'fivek', title: 'N=5,000 clients, 1 camera at 60 Hz (300,000 deliveries/s offered)', clients: 5000, cameras: 1, rateHz: 60, warmupS: 3, windowS: quick ? 5 : 10, loadgens: 2, wirecamArgs: ['--max-hz', '60'] },
  ];
}

/**
 * Which peers take part in a scenario: 10,000 clients is a test of wirecam alone; the
 * `--workers 2` column runs where one core is the limit (flood, 5,000 clients).
 */
export function peersFor(scenario: Scenario, wanted: readonly PeerName[]): PeerName[] {
  if (scenario.id === 'tenk') return wanted.filter((p) => p === 'wirecam');
  if (scenario.id === 'idle') return wanted.filter((p) => p === 'wirecam' || p === 'raw-tcp' || p === 'ws-plain');
  if (scenario.id === 'flood' || scenario.id === 'fivek') return [...wanted];
  return wanted.filter((p) => p !== 'wirecam-w2');
}

/** The median (the upper middle of an even count) of one figure over runs. */
function pickOf(results: RunResult[], figure: (r: RunResult) => number): number {
  const values = results.map(figure).sort((a, b) => a - b);
  return values[Math.floor(values.length / 2)]!;
}

function median(results: RunResult[]): RunResult {
  if (results.length === 1) return results[0]!;
  const sorted = [...results].sort((a, b) => a.perSecond - b.perSecond || a.p99 - b.p99);
  const pick = <K extends keyof RunResult>(key: K) => pickOf(results, (r) => r[key] as number);
  return {
    ...sorted[Math.floor(sorted.length / 2)]!,
    perSecond: pick('perSecond'),
    cpuUsPerMessage: pick('cpuUsPerMessage'),
    p50: pick('p50'),
    p99: pick('p99'),
    rssMiB: pick('rssMiB'),
    rssWithoutClientsMiB: results.every((r) => r.rssWithoutClientsMiB !== undefined) ? pick('rssWithoutClientsMiB') : undefined,
    finalCorrect: Math.min(...results.map((r) => r.finalCorrect)),
    closedClients: Math.max(...results.map((r) => r.closedClients)),
    syscallsPerMessage: results.every((r) => r.syscallsPerMessage !== undefined)
      ? { read: pickOf(results, (r) => r.syscallsPerMessage!.read), write: pickOf(results, (r) => r.syscallsPerMessage!.write) }
      : undefined,
  };
}

const fmt = (value: number | undefined, digits = 1) => (value === undefined || Number.isNaN(value) ? 'n/a' : value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }));
/** `correct/clients`, and how long after the producer's end the last of them got there. */
const finalState = (x: RunResult | undefined) =>
  x === undefined ? 'n/a' : `${x.finalCorrect}/${x.clients}${x.finalAfterS === undefined ? '' : x.finalAfterS >= 1 ? ` (after ${fmt(x.finalAfterS)} s)` : ''}`;
const thousands = (value: number | undefined) => (value === undefined ? 'n/a' : `${Math.round(value / 1000).toLocaleString('en-US')}k`);

export function table(results: BenchResults): string {
  const windowOf = (x: RunResult) => x.delivered > 0 && x.perSecond > 0 ? x.delivered / x.perSecond : NaN;
  const columns: PeerName[] = ['ws-plain', 'ws-frame-once', 'raw-tcp', 'socketio', 'nats', 'wirecam', 'wirecam-w2'];
  const s = results.scenarios;
  const row = (label: string, cell: (r: RunResult | undefined, peer: PeerName) => string, ratio: string) =>
    `| ${label} | ${columns.map((peer) => cell(s[rowScenario]?.[peer], peer)).join(' | ')} | ${ratio} |`;
  let rowScenario = 'seed';
  const r = results.ratios;
  const lines = [
    `| scenario | ${columns.map((c) => PEER_TITLES[c]).join(' | ')} | ratios (same run) |`,
    `|---|${columns.map(() => '---').join('|')}|---|`,
  ];
  rowScenario = 'seed';
  lines.push(row('N=1000 clients, 1 camera at 60 Hz: server CPU µs per delivered message', (x) => fmt(x?.cpuUsPerMessage, 2), `wirecam/raw TCP ${fmt(r.seedCpuVsRawTcp, 2)}, wirecam/plain ws ${fmt(r.seedCpuVsPlainWs, 2)}`));
  lines.push(row('N=1000, 60 Hz: p99 latency (ms)', (x) => fmt(x?.p99), `wirecam/raw TCP ${fmt(r.seedP99VsRawTcp, 2)}`));
  lines.push(row('N=1000, 60 Hz: clients ending on the final state', (x) => (x ? `${x.finalCorrect}/${x.clients}` : 'n/a'), ''));
  rowScenario = 'flood';
  lines.push(row('N=1000, published as fast as clients take it: delivered msg/s', (x) => thousands(x?.perSecond), `wirecam/raw TCP ${fmt(r.floodVsRawTcp, 2)}, wirecam/nats ${fmt(r.floodVsNats, 2)}, --workers 2 / --workers 1 ${fmt(r.floodWorkersScaling, 2)}`));
  lines.push(row('N=1000, as fast as taken: p99 latency (ms)', (x) => fmt(x?.p99), ''));
  lines.push(row('N=1000, as fast as taken: server CPU µs per delivered message (all processes)', (x) => fmt(x?.cpuUsPerMessage, 2), ''));
  lines.push(row('N=1000, as fast as taken: server / load generator CPU cores in the window', (x) => (x === undefined ? 'n/a' : `${fmt(x.cpuSeconds / windowOf(x), 2)} / ${fmt(x.loadgenCpuSeconds / windowOf(x), 2)}`), ''));
  lines.push(row('N=1000, as fast as taken: clients ending on the final state', finalState, ''));
  rowScenario = 'many';
  lines.push(row('N=1000 x 20 cameras at 60 Hz: delivered camera states/s', (x) => thousands(x?.perSecond), `wirecam/nats ${fmt(r.manyVsNats, 2)}`));
  lines.push(row('N=1000 x 20 cameras: p99 latency (ms)', (x) => fmt(x?.p99), ''));
  lines.push(row('N=1000 x 20 cameras: server CPU µs per delivered state', (x) => fmt(x?.cpuUsPerMessage, 2), ''));
  lines.push(row('N=1000 x 20 cameras: clients ending on every final state', (x) => (x ? `${x.finalCorrect}/${x.clients}` : 'n/a'), ''));
  rowScenario = 'idle';
  lines.push(row('N=1000 idle clients: server RSS (MiB)', (x) => fmt(x?.rssMiB), `wirecam - raw TCP ${fmt(r.idleRssOverRawTcpMiB)} MiB`));
  lines.push(
    row('N=1000 idle clients: RSS added by the clients (MiB)', (x) => (x?.rssWithoutClientsMiB === undefined ? 'n/a' : fmt(x.rssMiB - x.rssWithoutClientsMiB)), `wirecam - raw TCP ${fmt(r.idleClientsRssOverRawTcpMiB)} MiB`),
  );
  rowScenario = 'fivek';
  const offered = (x: RunResult | undefined) => {
    const fraction = deliveredFraction(x);
    return x === undefined ? 'n/a' : `${thousands(x.perSecond)} (${fraction === undefined ? 'n/a' : `${fmt(fraction * 100, 0)}%`})`;
  };
  lines.push(row('N=5,000 at 60 Hz (300k/s offered): delivered msg/s (share of offered)', offered, `--workers 1 ${fmt(r.fivekDeliveredW1, 3)}, --workers 2 ${fmt(r.fivekDeliveredW2, 3)} of offered`));
  lines.push(row('N=5,000 at 60 Hz: p99 latency (ms)', (x) => fmt(x?.p99), ''));
  lines.push(row('N=5,000 at 60 Hz: server CPU µs per delivered message (all processes)', (x) => fmt(x?.cpuUsPerMessage, 2), ''));
  lines.push(row('N=5,000 at 60 Hz: server / load generators CPU cores in the window', (x) => (x === undefined ? 'n/a' : `${fmt(x.cpuSeconds / windowOf(x), 2)} / ${fmt(x.loadgenCpuSeconds / windowOf(x), 2)}`), ''));
  lines.push(row('N=5,000 at 60 Hz: clients ending on the final state', finalState, ''));
  rowScenario = 'tenk';
  lines.push(row('N=10,000 clients at 1 Hz: connected / closed / final state', (x) => (x ? `${x.clients - x.closedClients} / ${x.closedClients} / ${x.finalCorrect}` : ''), ''));
  return lines.join('\n');
}

export function targetsReport(results: BenchResults): string[] {
  const r = results.ratios;
  const wirecam = (id: string) => results.scenarios[id]?.wirecam;
  const w2 = (id: string) => results.scenarios[id]?.['wirecam-w2'];
  const check = (name: string, value: number | undefined, ok: (v: number) => boolean, limit: string) =>
    `${value === undefined ? 'n/a ' : ok(value) ? 'met ' : 'MISS'}  ${name}: ${value === undefined ? 'n/a' : fmt(value, 2)} (target ${limit})`;
  return [
    check('seed CPU per message, wirecam / raw TCP', r.seedCpuVsRawTcp, (v) => v <= 1.2, '<= 1.2'),
    check('seed CPU per message, wirecam / plain ws loop', r.seedCpuVsPlainWs, (v) => v <= 0.5, '<= 0.5'),
    check('seed p99 latency, wirecam / raw TCP', r.seedP99VsRawTcp, (v) => v <= 1.2, '<= 1.2'),
    check('seed p99 latency, wirecam (ms)', wirecam('seed')?.p99, (v) => v < 15, '< 15'),
    check('many cameras delivered states/s, wirecam / nats', r.manyVsNats, (v) => v >= 1.0, '>= 1.0'),
    check('many cameras p99 latency, wirecam (ms)', wirecam('many')?.p99, (v) => v <= 50, '<= 50'),
    check('many cameras clients on every final state (fraction)', wirecam('many') ? wirecam('many')!.finalCorrect / wirecam('many')!.clients : undefined, (v) => v === 1, '= 1'),
    check('idle RSS, wirecam - raw TCP (MiB)', r.idleRssOverRawTcpMiB, (v) => v <= 30, '<= 30'),
    check('idle RSS added by 1,000 clients, wirecam - raw TCP (MiB)', r.idleClientsRssOverRawTcpMiB, (v) => v <= 15, '<= 15 (the per-client part of the one above)'),
    check('10,000 clients closed', wirecam('tenk')?.closedClients, (v) => v === 0, '= 0'),
    check('flood delivered msg/s, wirecam --workers 2 / --workers 1', r.floodWorkersScaling, (v) => v >= 1.5, '>= 1.5'),
    check('5,000 clients at 60 Hz, --workers 2: delivered / offered', r.fivekDeliveredW2, (v) => v >= 0.95, '>= 0.95'),
    check('5,000 clients at 60 Hz, --workers 2: p99 latency (ms)', w2('fivek')?.p99, (v) => v <= 50, '<= 50'),
    check('5,000 clients at 60 Hz, --workers 2: clients on the final state (fraction)', w2('fivek') ? w2('fivek')!.finalCorrect / w2('fivek')!.clients : undefined, (v) => v === 1, '= 1'),
    check('fanout loop bytes allocated per client per send', results.allocation?.bytesPerClientPerSend, (v) => v < 0.05, '~0'),
  ];
}

async function main(): Promise<void> {
  const options = args();
  const notes: string[] = [];
  const limit = fdLimit();
  notes.push(`file-descriptor limit: soft ${limit.soft}, hard ${limit.hard} (10,000 clients need ~10,100 in the server and ~5,100 per load generator)`);
  let wanted = (options.peers ?? [...PEERS]).filter((p) => (PEERS as readonly string[]).includes(p));
  if (wanted.includes('nats')) {
    const nats = ensureNats();
    if (nats.binary === null) {
      wanted = wanted.filter((p) => p !== 'nats');
      notes.push(nats.reason!);
      process.stderr.write(`bench: ${nats.reason!}\n`);
    }
  }
  if (!socketIoAvailable()) {
    wanted = wanted.filter((p) => p !== 'socketio');
    notes.push('socket.io not installed: the Socket.IO column is skipped (npm ci installs it)');
  }
  buildLoadgen();

  let micro: MicroResult[] = [];
  let allocation: AllocationReport | null = null;
  if (!options.skipMicro) {
    process.stderr.write('bench: micro suites...\n');
    // Micro suites run in their own process: a clean heap, a large young generation.
    const out = execFileSync(process.execPath, ['--expose-gc', '--max-semi-space-size=256', fileURLToPath(new URL('./micro-main.js', import.meta.url)), options.quick ? '0.5' : '2'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    ({ micro, allocation } = JSON.parse(out) as { micro: MicroResult[]; allocation: AllocationReport });
  }

  const results: BenchResults = {
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, model: cpus()[0]?.model ?? 'unknown', node: process.version, fdLimit: limit.soft },
    quick: options.quick,
    runs: options.runs,
    micro,
    allocation,
    scenarios: {},
    runsByScenario: {},
    ratios: {} as Ratios,
    notes,
  };
  const planned = scenarios(options.quick).filter((s) => !options.scenarios || options.scenarios.includes(s.id));
  const totalRuns = planned.reduce((sum, s) => sum + peersFor(s, wanted).length * options.runs, 0);
  // A bar on a terminal; otherwise one line per run (lineMs 0).
  const progress = new Progress({ label: 'bench', total: totalRuns, unit: 'runs', stream: process.stderr, lineMs: 0 });
  let done = 0;
  for (const scenario of planned) {
    results.scenarios[scenario.id] = {};
    results.runsByScenario[scenario.id] = {};
    for (const peer of peersFor(scenario, wanted)) {
      const runs: RunResult[] = [];
      for (let run = 0; run < options.runs; run++) {
        progress.update(done++, `${scenario.id} / ${peer} (run ${run + 1} of ${options.runs})`);
        try {
          runs.push(await runScenario(peer, scenario));
        } catch (error) {
          notes.push(`${scenario.id} / ${peer}: ${error instanceof Error ? error.message : String(error)}`);
        }
      }
      results.runsByScenario[scenario.id]![peer] = runs;
      if (runs.length > 0) results.scenarios[scenario.id]![peer] = median(runs);
    }
  }
  progress.update(done, 'done');
  progress.finish();
  results.ratios = computeRatios(results.scenarios);

  mkdirSync(fileURLToPath(new URL('../../bench/results/', import.meta.url)), { recursive: true });
  const out = process.argv.includes('--out') ? process.argv[process.argv.indexOf('--out') + 1]! : fileURLToPath(new URL('../../bench/results/latest.json', import.meta.url));
  writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);

  const lines: string[] = [];
  lines.push(`wirecam bench — ${results.date}, ${results.machine.cpus} cores (${results.machine.model}), Node ${results.machine.node}, ${options.runs === 1 ? 'one run' : `median of ${options.runs} runs`}${options.quick ? ', quick' : ''}`);
  lines.push('');
  if (micro.length > 0) {
    lines.push('| micro benchmark | ops/s | ± |');
    lines.push('|---|---|---|');
    for (const m of micro) lines.push(`| ${m.name} | ${Math.round(m.opsPerSecond).toLocaleString('en-US')} | ${m.rme.toFixed(1)}% |`);
    if (allocation) {
      lines.push('');
      lines.push(
        `fanout allocation: ${allocation.sends.toLocaleString('en-US')} sends (${allocation.ticks} ticks to ${allocation.clients} in-memory sockets); heap used ` +
          `${(allocation.heapBeforeBytes / 1e6).toFixed(3)} MB before, ${(allocation.heapAfterBytes / 1e6).toFixed(3)} MB after, ${allocation.gcsDuringLoop} GCs during the loop; ` +
          `${allocation.bytesPerTick.toFixed(0)} bytes per tick (${allocation.bytesPerTickAtFourTimesClients.toFixed(0)} with 4x the clients) = ` +
          `${allocation.bytesPerClientPerSend.toFixed(3)} bytes per client per send; ${(allocation.heapRetainedBytes / 1e3).toFixed(1)} kB retained after GC`,
      );
    }
    lines.push('');
  }
  lines.push(table(results));
  lines.push('');
  lines.push('targets:');
  for (const line of targetsReport(results)) lines.push(`  ${line}`);
  for (const note of notes) lines.push(`note: ${note}`);
  lines.push(`results: ${out}`);
  process.stdout.write(`${lines.join('\n')}\n`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().then(
    () => process.exit(0),
    (error: unknown) => {
      process.stderr.write(`bench: ${error instanceof Error ? error.stack : String(error)}\n`);
      process.exit(1);
    },
  );
}
