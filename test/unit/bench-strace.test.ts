// Reading strace's summaries (bench/strace.ts): the table `strace -c -U calls,errors,name`
// writes, taken from a real strace run, and counts per delivered message.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseStraceSummary, perMessage, STRACE_COLUMNS } from '../../bench/strace.js';
import { removeTempDirs, tempDir } from '../helpers/tmp.js';

afterEach(removeTempDirs);

describe('parseStraceSummary', () => {
  it('reads a real summary: every row, errors where strace counted them, the total row left out', () => {
    const dir = tempDir('wirecam-strace-');
    const out = join(dir, 'summary.txt');
    // A shell that writes three lines with three write calls and fails to open one file.
    execFileSync('strace', ['-c', '-f', '-U', STRACE_COLUMNS, '-o', out, 'sh', '-c', `echo a; echo b; echo c; cat ${join(dir, 'missing')} 2>/dev/null; true`], { stdio: 'ignore' });
    const text = readFileSync(out, 'utf8');
    const rows = parseStraceSummary(text);
    const total = /^\s*(\d+)\s+(\d+)?\s*total\s*$/m.exec(text);
    expect(total).not.toBeNull();
    expect(rows.reduce((sum, r) => sum + r.calls, 0)).toBe(Number(total![1]));
    expect(rows.find((r) => r.syscall === 'total')).toBeUndefined();
    expect(rows.find((r) => r.syscall === 'write')?.calls).toBeGreaterThanOrEqual(3);
    expect(rows.reduce((sum, r) => sum + r.errors, 0)).toBe(Number(total![2] ?? 0));
    expect(rows.some((r) => r.errors > 0)).toBe(true); // the missing file
    for (let i = 1; i < rows.length; i++) expect(rows[i - 1]!.calls).toBeGreaterThanOrEqual(rows[i]!.calls);
  });

  it('takes a blank errors column as 0 and skips the header, the rules and strace messages', () => {
    const text = [
      'strace: Process 42 attached with 7 threads',
      '    calls    errors syscall',
      '--------- --------- ----------------',
      '     1732           write',
      '     3299         2 epoll_pwait',
      '       41         1 futex',
      '--------- --------- ----------------',
      '     5072         3 total',
    ].join('\n');
    expect(parseStraceSummary(text)).toEqual([
      { syscall: 'epoll_pwait', calls: 3299, errors: 2 },
      { syscall: 'write', calls: 1732, errors: 0 },
      { syscall: 'futex', calls: 41, errors: 1 },
    ]);
  });

  it('throws on text that is no summary', () => {
    expect(() => parseStraceSummary('strace: attach: ptrace(PTRACE_SEIZE, 1): Operation not permitted\n')).toThrow(/no strace summary/);
  });
});

describe('perMessage', () => {
  it('divides every count and the total by the messages delivered', () => {
    const counts = [
      { syscall: 'write', calls: 1000, errors: 0 },
      { syscall: 'epoll_pwait', calls: 30, errors: 0 },
    ];
    expect(perMessage(counts, 1000)).toEqual({ total: 1.03, kinds: [{ syscall: 'write', perMessage: 1 }, { syscall: 'epoll_pwait', perMessage: 0.03 }] });
  });

  it('refuses a window in which nothing was delivered', () => {
    expect(() => perMessage([], 0)).toThrow(/no messages delivered/);
  });
});
