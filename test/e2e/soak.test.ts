// The short soak: hundreds of clients and a 60 Hz producer for half a minute; memory must
// stay flat (the growth of the heap's low points and of RSS after the warm-up under the
// bounds in bench/soak.ts). `npm run soak -- --seconds 60` is the long version.
import { afterAll, describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { startProcess, stopAllProcesses } from '../helpers/processes.js';

const SOAK = fileURLToPath(new URL('../../dist/bench/soak.js', import.meta.url));

afterAll(() => stopAllProcesses());

describe('soak', () => {
  it('holds 300 clients at 60 Hz for 30 s with flat memory and no client lost', async () => {
    const run = startProcess([SOAK, '--seconds', '30', '--clients', '300']);
    const { code } = await run.exited;
    const summary = run.stdout.find((line) => line.startsWith('soak:') && line.includes('messages delivered'));
    console.log(run.stdout.filter((line) => line.startsWith('soak:')).join('\n'));
    expect(code, run.stderr.join('\n')).toBe(0);
    expect(summary).toMatch(/0 clients lost/);
    const result = JSON.parse(run.stdout.find((line) => line.startsWith('{'))!) as { ok: boolean; heapGrowthMiB: number; heapBoundMiB: number };
    expect(result.heapGrowthMiB).toBeLessThan(result.heapBoundMiB);
    expect(result.ok).toBe(true);
  }, 120_000);
});
