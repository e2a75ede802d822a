// `npm run bench:syscalls`: system calls per delivered message in the seed scenario (1,000
// clients, 1 camera at 60 Hz), wirecam against raw TCP in the same run. Each run is the
// bench's seed run (bench/e2e.ts): first its measured window, untraced (CPU per message,
// p99, and the kernel's read/write-family counters of /proc/PID/io), then, in the same
// server process, a window under `strace -c -f` for the kinds of every system call. strace
// stops the traced process at every call, so the second window's CPU and latency are not
// reported; its counts per delivered message are. Runs alternate, A B B A ...
//
//   --rounds N   runs per peer (default 1; medians reported)
//   --window S   untraced measurement window, seconds (default 5)
//   --trace S    traced window, seconds (default 3)
//   --peers a,b  default raw-tcp,wirecam (wirecam-w2 too if asked; every process is traced)
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { buildLoadgen, PEERS, PEER_TITLES, runScenario, type ExtraWindow, type PeerName, type RunResult } from './e2e.js';
import { median } from './judge.js';
import { processTree } from './procstat.js';
import { scenarios } from './run.js';
import { parseStraceSummary, perMessage, STRACE_COLUMNS, type SyscallCount } from './strace.js';
import { describeError } from '../src/util/describe-error.js';
import { BenchArgs } from './args.js';

/** What the traced window saw. */
interface Traced {
  delivered: number;
  seconds: number;
  counts: SyscallCount[];
}

function args() {
  const options = new BenchArgs();
  const value = (name: string) => options.value(name);
  const number = (name: string, fallback: number) => options.number(name, fallback);
  const peers = (value('peers')?.split(',') ?? ['raw-tcp', 'wirecam']) as PeerName[];
  for (const p of peers) if (!(PEERS as readonly string[]).includes(p)) throw new Error(`--peers: unknown peer '${p}' (known: ${PEERS.join(', ')})`);
  return { rounds: number('rounds', 1), windowS: number('window', 5), traceS: number('trace', 3), peers };
}

/**
 * The traced window: `strace -c -f` attached to every process of the server (a `--workers`
 * primary and its fanout processes; -f takes every thread), for `seconds`, then detached
 * with SIGINT (to strace's PID), which makes it write the summary. Messages are counted from
 * the moment every process is attached to the moment strace is told to detach.
 */
function straceWindow(dir: string, seconds: number): ExtraWindow {
  return {
    seconds,
    async observe({ serverPid, seconds, delivered }) {
      const pids = processTree(serverPid);
      const out = join(dir, `strace-${serverPid}.txt`);
      const strace = spawn('strace', ['-c', '-f', '-U', STRACE_COLUMNS, '-o', out, ...pids.flatMap((p) => ['-p', String(p)])], { stdio: ['ignore', 'ignore', 'pipe'] });
      const exited = new Promise<number | null>((resolve, reject) => {
        strace.on('error', reject);
        strace.on('exit', (code) => resolve(code));
      });
      try {
        // strace says "Process N attached" (with its threads) once per process given.
        let attached = 0;
        const stderr: string[] = [];
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`strace did not attach within 10 s: ${stderr.slice(-3).join(' | ')}`)), 10_000);
          createInterface({ input: strace.stderr! }).on('line', (line) => {
            stderr.push(line);
            if (/^strace: Process \d+ attached/.test(line) && ++attached === pids.length) {
              clearTimeout(timer);
              resolve();
            }
          });
          void exited.then((code) => {
            clearTimeout(timer);
            reject(new Error(`strace exited (${code}) before attaching: ${stderr.slice(-3).join(' | ')}`));
          });
        });
        const startedAt = performance.now();
        const before = await delivered();
        await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
        const after = await delivered();
        const traced: Traced = { delivered: after - before, seconds: (performance.now() - startedAt) / 1000, counts: [] };
        process.kill(strace.pid!, 'SIGINT');
        const code = await Promise.race([exited, new Promise((resolve) => setTimeout(() => resolve('timeout'), 20_000))]);
        if (code === 'timeout') throw new Error('strace did not detach within 20 s');
        traced.counts = parseStraceSummary(readFileSync(out, 'utf8'));
        return { delivered: traced.delivered, observed: traced };
      } finally {
        if (strace.exitCode === null && strace.signalCode === null) {
          try {
            process.kill(strace.pid!, 'SIGKILL');
          } catch {
            // Already gone.
          }
        }
      }
    },
  };
}

const fmt = (value: number | undefined, digits: number) => (value === undefined || !Number.isFinite(value) ? 'n/a' : value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }));

/** The median of `figure` over a peer's runs; undefined when no run has it. */
function med(runs: RunResult[], figure: (r: RunResult) => number | undefined): number | undefined {
  return median(runs.map(figure).filter((v): v is number => v !== undefined));
}

const tracedOf = (r: RunResult) => r.extra?.observed as Traced | undefined;

/** Calls of `syscall` per delivered message in one run's traced window (0 when it made none). */
function kindPerMessage(r: RunResult, syscall: string): number | undefined {
  const t = tracedOf(r);
  if (t === undefined || t.delivered <= 0) return undefined;
  return perMessage(t.counts.filter((c) => c.syscall === syscall), t.delivered).total;
}

/** The report: one column per peer, the ratio of the last to the first. */
function report(results: Map<PeerName, RunResult[]>, options: ReturnType<typeof args>): string {
  const peers = [...results.keys()];
  const [first] = peers;
  const last = peers[peers.length - 1];
  const lines = [
    `| seed scenario (1,000 clients, 1 camera, 60 Hz) | ${peers.map((p) => PEER_TITLES[p]).join(' | ')} | ${last} / ${first} |`,
    `|---|${peers.map(() => '---').join('|')}|---|`,
  ];
  const row = (label: string, figure: (r: RunResult) => number | undefined, digits: number) => {
    const values = peers.map((p) => med(results.get(p)!, figure));
    const a = values[0];
    const b = values[values.length - 1];
    lines.push(`| ${label} | ${values.map((v) => fmt(v, digits)).join(' | ')} | ${a === undefined || b === undefined || a === 0 ? 'n/a' : fmt(b / a, 2)} |`);
  };
  row('untraced: delivered msg/s', (r) => r.perSecond, 0);
  row('untraced: server CPU µs per delivered message', (r) => r.cpuUsPerMessage, 2);
  row('untraced: of which user space (µs)', (r) => r.cpuSplitUsPerMessage?.user, 2);
  row('untraced: of which kernel (µs)', (r) => r.cpuSplitUsPerMessage?.system, 2);
  row('untraced: p99 latency (ms)', (r) => r.p99, 1);
  row('untraced: write-family calls per message (/proc/PID/io syscw)', (r) => r.syscallsPerMessage?.write, 3);
  row('untraced: read-family calls per message (/proc/PID/io syscr)', (r) => r.syscallsPerMessage?.read, 3);
  row(`traced (${options.traceS} s under strace): delivered msg/s`, (r) => {
    const t = tracedOf(r);
    return t === undefined ? undefined : t.delivered / t.seconds;
  }, 0);
  row('traced: every system call per message', (r) => {
    const t = tracedOf(r);
    return t === undefined || t.delivered <= 0 ? undefined : perMessage(t.counts, t.delivered).total;
  }, 3);
  // Every kind that reaches 0.001 per message in some run, most first.
  const kinds = new Map<string, number>();
  for (const p of peers) {
    for (const r of results.get(p)!) {
      const t = tracedOf(r);
      if (t === undefined || t.delivered <= 0) continue;
      for (const k of perMessage(t.counts, t.delivered).kinds) kinds.set(k.syscall, Math.max(kinds.get(k.syscall) ?? 0, k.perMessage));
    }
  }
  const listed = [...kinds.entries()].filter(([, v]) => v >= 0.001).sort((a, b) => b[1] - a[1]).map(([k]) => k);
  for (const syscall of listed) row(`traced: \`${syscall}\` per message`, (r) => kindPerMessage(r, syscall), 3);
  return lines.join('\n');
}

async function main(): Promise<void> {
  const options = args();
  const seed = scenarios(false).find((s) => s.id === 'seed')!;
  const scenario = { ...seed, windowS: options.windowS };
  buildLoadgen();
  const dir = mkdtempSync(join(tmpdir(), 'wirecam-syscalls-'));
  const results = new Map<PeerName, RunResult[]>(options.peers.map((p) => [p, []]));
  const notes: string[] = [];
  try {
    const total = options.rounds * options.peers.length;
    let done = 0;
    for (let round = 0; round < options.rounds; round++) {
      const order = round % 2 === 0 ? options.peers : [...options.peers].reverse();
      for (const peer of order) {
        try {
          const result = await runScenario(peer, scenario, { extra: straceWindow(dir, options.traceS) });
          results.get(peer)!.push(result);
          const t = tracedOf(result);
          process.stderr.write(
            `bench:syscalls: ${++done}/${total} ${peer}: ${result.cpuUsPerMessage.toFixed(2)} µs CPU/msg, p99 ${result.p99.toFixed(1)} ms, ` +
              `${result.syscallsPerMessage?.write.toFixed(3)} write-family calls/msg; traced ${t ? perMessage(t.counts, t.delivered).total.toFixed(3) : 'n/a'} calls/msg\n`,
          );
        } catch (error) {
          done++;
          notes.push(`${peer} run ${round + 1}: ${describeError(error)}`);
          process.stderr.write(`bench:syscalls: ${peer} run ${round + 1} failed: ${describeError(error)}\n`);
        }
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const resultsDir = fileURLToPath(new URL('../../bench/results/', import.meta.url));
  mkdirSync(resultsDir, { recursive: true });
  const out = `${resultsDir}syscalls.json`;
  const date = new Date().toISOString();
  const machine = { cpus: cpus().length, model: cpus()[0]?.model ?? 'unknown', node: process.version };
  writeFileSync(out, `${JSON.stringify({ date, machine, options, results: Object.fromEntries(results), notes }, null, 2)}\n`);
  const lines = [
    `bench:syscalls — ${date}, ${machine.cpus} cores (${machine.model}), Node ${machine.node}, ${options.rounds === 1 ? 'one run' : `median of ${options.rounds} runs`} per peer, ` +
      `${options.windowS} s untraced + ${options.traceS} s traced window each`,
    '',
    report(results, options),
  ];
  for (const note of notes) lines.push(`note: ${note}`);
  lines.push(`results: ${out}`);
  process.stdout.write(`${lines.join('\n')}\n`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().then(
    () => process.exit(0),
    (error: unknown) => {
      process.stderr.write(`bench:syscalls: ${describeError(error)}\n`);
      process.exit(1);
    },
  );
}
