// Progress of `wirecam simulate`: a bar redrawn in place on a terminal; on a pipe, only the
// closing line for a short run (plain progress lines come every few seconds).
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { CLI, startProcess, stopAllProcesses } from '../helpers/processes.js';
import { PtyProgram, requirePty, stopAllPtyPrograms } from '../helpers/terminal.js';
import { tempDir, removeTempDirs } from '../helpers/tmp.js';

const hasPty = requirePty('the simulate progress bar test');

afterEach(async () => {
  await stopAllPtyPrograms();
  await stopAllProcesses();
});
afterAll(() => removeTempDirs());

describe('wirecam simulate progress', () => {
  it.skipIf(!hasPty)('draws a bar with the percentage on a terminal, then clears it for the summary', async () => {
    const db = join(tempDir(), 'sim.db');
    const run = new PtyProgram(process.execPath, [CLI, 'simulate', '--db', db, '--rate', '50', '--duration', '1.5'], { cols: 100, rows: 10 });
    await run.waitForScreen((text) => /simulate: main at 50 Hz  \[#+\.*\]\s+\d+%  [\d.]+\/1\.5 s  \d+ states/.test(text), 'a progress bar');
    const { exitCode } = await run.exited;
    expect(exitCode).toBe(0);
    await run.settled();
    // Redrawn in place (carriage returns), never one line per redraw.
    expect(run.output.match(/\r(?!\n)simulate: main/g)!.length).toBeGreaterThan(3);
    const screen = run.screen().filter((line) => line !== '');
    expect(screen).toEqual([expect.stringMatching(/^simulate: wrote \d+ camera states to .* in 1\.\d s$/)]);
  });

  it('writes no bar when stderr is not a terminal', async () => {
    const run = startProcess([CLI, 'simulate', '--db', join(tempDir(), 'sim.db'), '--rate', '50', '--duration', '0.5']);
    const { code } = await run.exited;
    expect(code).toBe(0);
    expect(run.stderr.filter((l) => l !== '')).toEqual([expect.stringMatching(/^simulate: wrote \d+ camera states/)]);
  });
});
