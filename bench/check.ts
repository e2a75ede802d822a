// `npm run bench:check`: a short bench (one run per peer, short windows) whose ratios are
// compared with bench/baseline.json. A ratio more than 15% worse than its baseline fails.
// Ratios, not absolute times: a slower or busier machine moves every peer alike.
// To accept new figures deliberately: npm run bench:check -- --update-baseline
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { HIGHER_IS_BETTER, type Ratios } from './ratios.js';
import type { BenchResults } from './run.js';

const TOLERANCE = 0.15;
const baselinePath = fileURLToPath(new URL('../../bench/baseline.json', import.meta.url));
const resultsPath = fileURLToPath(new URL('../../bench/results/check.json', import.meta.url));

execFileSync(process.execPath, [fileURLToPath(new URL('./run.js', import.meta.url)), '--quick', '--no-micro', '--scenarios', 'seed,many,idle', '--peers', 'ws-plain,raw-tcp,nats,wirecam', '--out', resultsPath], {
  stdio: ['ignore', 'inherit', 'inherit'],
});
const results = JSON.parse(readFileSync(resultsPath, 'utf8')) as BenchResults;

if (process.argv.includes('--update-baseline')) {
  writeFileSync(baselinePath, `${JSON.stringify({ date: results.date, machine: results.machine, ratios: results.ratios }, null, 2)}\n`);
  process.stdout.write(`bench:check: baseline written to ${baselinePath}\n`);
  process.exit(0);
}
if (!existsSync(baselinePath)) {
  process.stderr.write('bench:check: no bench/baseline.json; create one with npm run bench:check -- --update-baseline\n');
  process.exit(1);
}
const baseline = JSON.parse(readFileSync(baselinePath, 'utf8')) as { ratios: Ratios };
const failures: string[] = [];
const lines: string[] = [];
for (const key of Object.keys(HIGHER_IS_BETTER) as Array<keyof Ratios>) {
  const before = baseline.ratios[key];
  const now = results.ratios[key];
  if (before === undefined || now === undefined) continue;
  const higherIsBetter = HIGHER_IS_BETTER[key];
  // For a difference (MiB over raw TCP) the tolerance is absolute: 15% of 100 MiB.
  const worse = key.endsWith('MiB') ? now - before > 15 : higherIsBetter ? now < before * (1 - TOLERANCE) : now > before * (1 + TOLERANCE);
  const line = `${worse ? 'WORSE' : 'ok   '}  ${key}: ${now.toFixed(3)} (baseline ${before.toFixed(3)}, ${higherIsBetter ? 'higher' : 'lower'} is better)`;
  lines.push(line);
  if (worse) failures.push(line);
}
process.stdout.write(`\nbench:check against ${baselinePath}:\n${lines.join('\n')}\n`);
if (failures.length > 0) {
  process.stderr.write(`bench:check: ${failures.length} ratio(s) more than ${TOLERANCE * 100}% worse than the baseline\n`);
  process.exit(1);
}
