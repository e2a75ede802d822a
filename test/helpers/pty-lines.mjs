// A fast producer for `wirecam serve --source-cmd`: prints COUNT short camera lines as fast as
// it can and exits, the way a program that dumps its state and quits does. x (1000000 + i)
// comes last on each line, so a line cut anywhere after "x=" would still parse, with a wrong
// value: a test sees a cut line as a wrong number, not only as a missing row.
// argv: RUNS_FILE COUNT newline|no-newline. Only the first run prints; later runs (restarts)
// exit at once without output, so a test may stop the server at its leisure.
import { appendFileSync, readFileSync } from 'node:fs';

const [runsFile, countText, ending] = process.argv.slice(2);
appendFileSync(runsFile, 'run\n');
const run = readFileSync(runsFile, 'utf8').trim().split('\n').length;
if (run === 1) {
  const count = Number(countText);
  for (let i = 0; i < count; i++) {
    const last = i === count - 1;
    process.stdout.write(`camera=bulk y=${i % 7} zoom=1 x=${1_000_000 + i}${last && ending === 'no-newline' ? '' : '\n'}`);
  }
}
