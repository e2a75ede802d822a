// `npm run bench:profile`: the seed scenario (1,000 clients, one camera at 60 Hz) against
// wirecam under `node --cpu-prof`, then where each thread's time went, by function.
//   --scenario many   profiles the 20-camera scenario instead
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runScenario } from './e2e.js';
import { scenarios } from './run.js';
import { summarize } from './profile-summary.js';

const which = process.argv.includes('--scenario') ? process.argv[process.argv.indexOf('--scenario') + 1]! : 'seed';
const scenario = scenarios(false).find((s) => s.id === which);
if (!scenario) throw new Error(`no scenario "${which}"`);
const dir = mkdtempSync(join(tmpdir(), 'wirecam-profile-'));
process.env.WIRECAM_BENCH_NODE_ARGS = `--cpu-prof --cpu-prof-dir=${dir}`;
const result = await runScenario('wirecam', scenario);
process.stdout.write(
  `${scenario.title}: ${Math.round(result.perSecond).toLocaleString('en-US')} messages/s, ${result.cpuUsPerMessage.toFixed(2)} µs CPU per message, ` +
    `p50 ${result.p50.toFixed(1)} ms, p99 ${result.p99.toFixed(1)} ms\n`,
);
for (const file of readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).sort()) {
  process.stdout.write(`${summarize(join(dir, file), 12)}\n`);
}
process.stdout.write(`profiles: ${dir} (open them in Chrome DevTools, Performance tab)\n`);
