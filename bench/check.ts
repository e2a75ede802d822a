// `npm run bench:check [-- --ref REF]`: the regression guard. It builds a reference commit in
// a temporary git worktree and runs the wirecam peer of the guarded scenarios for the
// reference and for this checkout (the candidate) alternately, A B B A A B B A ..., each run a
// fresh server process driven by the same load generator, on this machine in this run: the
// two share the machine's speed and its noise. Each figure is judged by bench/judge.ts
// (a difference must repeat). Prints a table and writes bench/results/check.json.
//
//   --ref REF         the reference (default: HEAD~1 on a clean tree; HEAD with uncommitted changes)
//   --rounds N        interleaved pairs per scenario (default 3; all 3 must be worse to fail)
//   --window S        measurement window of the loaded scenarios, seconds (default 3)
//   --scenarios a,b   only these of seed, flood, idle (flood runs --workers 1 and 2)
//   --update-baseline no comparison: run the peer bench and write bench/baseline.json, the
//                     documented figures of one named machine (not used to judge)
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { buildLoadgen, runScenario, WIRECAM_CLI, type PeerName, type RunResult, type Scenario } from './e2e.js';
import { figureValue, GUARDED, peersOf, type GuardedFigure } from './guarded.js';
import { judge, RULE, type Judgement, type Pair } from './judge.js';
import { chooseReference, prepareReference, repositoryRoot, type Comparison, type ReferenceBuild } from './reference.js';
import { scenarios, type BenchResults } from './run.js';
import { describeError } from '../src/util/describe-error.js';
import { BenchArgs } from './args.js';

type Build = 'reference' | 'candidate';

interface RunRecord {
  scenario: string;
  pair: number;
  build: Build;
  peer: PeerName;
  result?: RunResult;
  error?: string;
}

interface FigureReport extends GuardedFigure {
  pairs: Pair[];
  judgement: Judgement;
}

function args() {
  const options = new BenchArgs();
  const value = (name: string) => options.value(name);
  const number = (name: string, fallback: number, min: number) => options.number(name, fallback, min);
  const known = new Set(GUARDED.map((g) => g.scenario));
  const wanted = value('scenarios')?.split(',');
  for (const id of wanted ?? []) if (!known.has(id)) throw new Error(`--scenarios: unknown scenario '${id}' (known: ${[...known].join(', ')})`);
  return {
    ref: value('ref'),
    rounds: number('rounds', 3, 1),
    windowS: number('window', 3, 1),
    scenarios: wanted ?? [...known],
    updateBaseline: options.has('update-baseline'),
  };
}

const resultsDir = fileURLToPath(new URL('../../bench/results/', import.meta.url));

/** The old peer bench, kept to document figures of one machine in bench/baseline.json. */
function updateBaseline(): void {
  const baselinePath = fileURLToPath(new URL('../../bench/baseline.json', import.meta.url));
  const out = `${resultsDir}baseline-run.json`;
  mkdirSync(resultsDir, { recursive: true });
  execFileSync(process.execPath, [fileURLToPath(new URL('./run.js', import.meta.url)), '--quick', '--no-micro', '--scenarios', 'seed,many,idle', '--peers', 'ws-plain,raw-tcp,nats,wirecam', '--out', out], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const results = JSON.parse(readFileSync(out, 'utf8')) as BenchResults;
  writeFileSync(baselinePath, `${JSON.stringify({ date: results.date, machine: results.machine, ratios: results.ratios }, null, 2)}\n`);
  process.stdout.write(`bench:check: figures of this machine written to ${baselinePath} (documentation; the check compares builds, not these)\n`);
}

const fmt = (value: number | undefined, digits: number) =>
  value === undefined ? 'n/a' : !Number.isFinite(value) ? 'failed' : value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

function figureDigits(figure: GuardedFigure): number {
  return figure.unit === 'msg/s' ? 0 : 2;
}

/** The table printed at the end: one row per guarded figure. */
export function checkTable(figures: FigureReport[]): string {
  const lines = [
    '| figure | reference (median) | candidate (median) | ratio of medians | worse pairs | tolerance | verdict |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const f of figures) {
    const j = f.judgement;
    const d = figureDigits(f);
    lines.push(
      `| ${f.title} (${f.unit}, ${f.higherIsBetter ? 'higher' : 'lower'} is better) | ${fmt(j.referenceMedian, d)} | ${fmt(j.candidateMedian, d)} | ${fmt(j.medianRatio, 3)} | ` +
        `${j.worsePairs} of ${j.pairs} (fails at ${j.needed}) | ${Math.round(f.tolerance * 100)}% | ${j.verdict === 'worse' ? 'WORSE' : j.verdict === 'ok' ? 'ok' : 'NO DATA'} |`,
    );
  }
  return lines.join('\n');
}

async function compare(options: ReturnType<typeof args>): Promise<number> {
  const repo = repositoryRoot(fileURLToPath(new URL('.', import.meta.url)));
  const comparison: Comparison = chooseReference(repo, options.ref);
  process.stderr.write(
    `bench:check: reference ${comparison.ref} (${comparison.commit.slice(0, 10)}; ${comparison.why}) against candidate ${comparison.candidate}\n`,
  );
  const plan: Scenario[] = scenarios(true)
    .filter((s) => options.scenarios.includes(s.id))
    .map((s) => (s.idle ? s : { ...s, windowS: options.windowS }));
  buildLoadgen();

  const startedAt = Date.now();
  let reference: ReferenceBuild | undefined;
  const runs: RunRecord[] = [];
  try {
    reference = await prepareReference(repo, comparison.commit);
    const cli: Record<Build, string> = { reference: reference.cli, candidate: WIRECAM_CLI };
    const total = plan.reduce((sum, s) => sum + peersOf(GUARDED, s.id).length, 0) * options.rounds * 2;
    for (const scenario of plan) {
      const peers = peersOf(GUARDED, scenario.id);
      for (let pair = 0; pair < options.rounds; pair++) {
        // A B, then B A: neither build always goes first (warmer caches, a quieter moment);
        // a build's runs of several peers (--workers 1 and 2) back to back, their order alternating too.
        const order: Build[] = pair % 2 === 0 ? ['reference', 'candidate'] : ['candidate', 'reference'];
        const peerOrder = pair % 2 === 0 ? peers : [...peers].reverse();
        for (const build of order) {
          for (const peer of peerOrder) {
            const record: RunRecord = { scenario: scenario.id, pair, build, peer };
            try {
              record.result = await runScenario(peer, scenario, { wirecamCli: cli[build] });
            } catch (error) {
              record.error = describeError(error);
            }
            runs.push(record);
            process.stderr.write(`bench:check: ${runs.length}/${total}  ${scenario.id} pair ${pair + 1} ${build.padEnd(9)} ${peer.padEnd(10)}  ${describeRun(scenario.id, record)}\n`);
          }
        }
      }
    }
  } finally {
    reference?.remove();
  }

  const figures: FigureReport[] = GUARDED.filter((g) => options.scenarios.includes(g.scenario)).map((g) => {
    const pairs: Pair[] = [];
    for (let pair = 0; pair < options.rounds; pair++) {
      const of = (build: Build) => (peer: PeerName) => runs.find((r) => r.scenario === g.scenario && r.pair === pair && r.build === build && r.peer === peer)?.result;
      const ref = figureValue(g, of('reference'));
      if (ref === undefined) continue; // Nothing to compare with.
      pairs.push({ reference: ref, candidate: figureValue(g, of('candidate')) ?? null });
    }
    return { ...g, pairs, judgement: judge(pairs, g) };
  });

  const worse = figures.filter((f) => f.judgement.verdict === 'worse');
  const noData = figures.filter((f) => f.judgement.verdict === 'no data');
  const failedRuns = runs.filter((r) => r.error !== undefined);
  const verdict = worse.length > 0 ? 'worse' : noData.length > 0 ? 'no data' : 'pass';
  mkdirSync(resultsDir, { recursive: true });
  const out = `${resultsDir}check.json`;
  writeFileSync(
    out,
    `${JSON.stringify(
      {
        date: new Date(startedAt).toISOString(),
        seconds: Math.round((Date.now() - startedAt) / 1000),
        machine: { cpus: cpus().length, model: cpus()[0]?.model ?? 'unknown', node: process.version },
        reference: { ref: comparison.ref, commit: comparison.commit, why: comparison.why, dependencies: reference?.dependencies },
        candidate: comparison.candidate,
        rounds: options.rounds,
        windowS: options.windowS,
        rule: RULE,
        verdict,
        figures,
        runs,
      },
      null,
      2,
    )}\n`,
  );

  const lines = [
    '',
    `bench:check — reference ${comparison.ref} (${comparison.commit.slice(0, 10)}) vs candidate ${comparison.candidate}; ` +
      `${options.rounds} interleaved pairs per scenario, ${options.windowS} s windows, ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'})`,
    '',
    checkTable(figures),
    '',
    `rule: ${RULE}.`,
  ];
  for (const r of failedRuns) lines.push(`note: ${r.scenario} pair ${r.pair + 1} ${r.build} ${r.peer} run failed: ${r.error}`);
  lines.push(`results: ${out}`);
  if (verdict === 'worse') lines.push(`FAIL: the candidate is worse, repeatedly: ${worse.map((f) => f.title).join('; ')}`);
  else if (verdict === 'no data') lines.push(`FAIL: no reference figures to judge ${noData.map((f) => f.title).join('; ')} (every reference run failed)`);
  else lines.push('pass: no difference beyond its tolerance repeats');
  process.stdout.write(`${lines.join('\n')}\n`);
  return verdict === 'pass' ? 0 : 1;
}

function describeRun(scenario: string, record: RunRecord): string {
  const r = record.result;
  if (r === undefined) return `failed: ${record.error ?? 'unknown'}`;
  if (scenario === 'idle') return `RSS ${r.rssMiB.toFixed(1)} MiB, ${r.closedClients} closed`;
  return `${r.cpuUsPerMessage.toFixed(2)} µs CPU/msg, p99 ${r.p99.toFixed(1)} ms, ${Math.round(r.perSecond).toLocaleString('en-US')} msg/s, ${r.finalCorrect}/${r.clients} on the final state`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  let options: ReturnType<typeof args>;
  try {
    options = args();
  } catch (error) {
    process.stderr.write(`bench:check: ${describeError(error)}\n`);
    process.exit(2);
  }
  if (options.updateBaseline) {
    updateBaseline();
    process.exit(0);
  }
  compare(options).then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`bench:check: ${describeError(error)}\n`);
      process.exit(1);
    },
  );
}
