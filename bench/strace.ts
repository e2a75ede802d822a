// Reading `strace -c -U calls,errors,name` summaries, and turning counts into counts per
// delivered message. Pure: no processes (bench/syscalls.ts runs strace).

/** The columns bench/syscalls.ts asks strace for, in this order (`strace -c -U ...`). */
export const STRACE_COLUMNS = 'calls,errors,name';

/** One row of a summary: a system call's name, how often it was made, how often it failed. */
export interface SyscallCount {
  syscall: string;
  calls: number;
  errors: number;
}

/**
 * Parses the summary that `strace -c -U calls,errors,name` writes on detach:
 *
 *     calls    errors syscall
 *     --------- --------- ----------------
 *          39        19 openat
 *          30           mmap
 *     --------- --------- ----------------
 *         148        26 total
 *
 * Returns one entry per system call, most calls first, without the `total` row. Lines that
 * are not rows (the header, the rules, strace's own messages) are skipped. Throws when the
 * text holds no rows and no total (strace did not write a summary).
 */
export function parseStraceSummary(text: string): SyscallCount[] {
  const rows: SyscallCount[] = [];
  let sawTotal = false;
  for (const line of text.split('\n')) {
    const match = /^\s*(\d+)\s+(?:(\d+)\s+)?([a-z_][a-z0-9_]*)\s*$/.exec(line);
    if (!match) continue;
    const [, calls, errors, syscall] = match;
    if (syscall === 'total') {
      sawTotal = true;
      continue;
    }
    rows.push({ syscall: syscall!, calls: Number(calls), errors: errors === undefined ? 0 : Number(errors) });
  }
  if (rows.length === 0 && !sawTotal) throw new Error('no strace summary rows found');
  return rows.sort((a, b) => b.calls - a.calls || a.syscall.localeCompare(b.syscall));
}

/** A system call's count per delivered message. */
export interface PerMessage {
  syscall: string;
  perMessage: number;
}

/**
 * Counts per delivered message, most first; `delivered` must be > 0 (throws otherwise: a
 * window in which nothing arrived says nothing per message).
 */
export function perMessage(counts: readonly SyscallCount[], delivered: number): { total: number; kinds: PerMessage[] } {
  if (!(delivered > 0)) throw new Error(`no messages delivered in the traced window (${delivered})`);
  const kinds = counts.map((c) => ({ syscall: c.syscall, perMessage: c.calls / delivered }));
  return { total: counts.reduce((sum, c) => sum + c.calls, 0) / delivered, kinds };
}
