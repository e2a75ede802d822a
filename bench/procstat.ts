// CPU time and resident memory of a process, from /proc (Linux), as the kernel counts them:
// every thread of the process included (a server's worker threads too).
import { readdirSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
  } catch {
    return 100;
  }
})();

/** User and system (kernel) CPU seconds used so far by `pid`, every thread counted. */
export function cpuSplit(pid: number): { user: number; system: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may contain spaces) start after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { user: Number(fields[11]) / CLOCK_TICKS, system: Number(fields[12]) / CLOCK_TICKS };
}

/** User + system CPU seconds used so far. */
export function cpuSeconds(pid: number): number {
  const { user, system } = cpuSplit(pid);
  return user + system;
}

export function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /VmRSS:\s+(\d+) kB/.exec(status);
  return match ? Number(match[1]) / 1024 : 0;
}

/**
 * `pid` and every live process below it (children of each of its threads, from
 * /proc/PID/task/TID/children, recursively): a `wirecam serve --workers N` primary and its
 * fanout processes. A process that ends while it is read is left out.
 */
export function processTree(pid: number): number[] {
  const found: number[] = [];
  const visit = (p: number) => {
    found.push(p);
    let tasks: string[];
    try {
      tasks = readdirSync(`/proc/${p}/task`);
    } catch {
      return; // Gone.
    }
    for (const tid of tasks) {
      let children = '';
      try {
        children = readFileSync(`/proc/${p}/task/${tid}/children`, 'utf8');
      } catch {
        continue;
      }
      for (const child of children.split(' ')) if (child.trim() !== '') visit(Number(child));
    }
  };
  visit(pid);
  return found;
}

/** Sums `read` over `pid`'s process tree (processTree), skipping processes that ended meanwhile. */
function overTree(pid: number, read: (p: number) => number): number {
  let sum = 0;
  for (const p of processTree(pid)) {
    try {
      sum += read(p);
    } catch {
      // Ended between listing and reading.
    }
  }
  return sum;
}

/** User + system CPU seconds used so far by `pid` and the live processes below it. */
export function treeCpuSeconds(pid: number): number {
  return overTree(pid, cpuSeconds);
}

/** User and system CPU seconds used so far by `pid` and the live processes below it. */
export function treeCpuSplit(pid: number): { user: number; system: number } {
  return { user: overTree(pid, (p) => cpuSplit(p).user), system: overTree(pid, (p) => cpuSplit(p).system) };
}

/** Resident memory (MiB) of `pid` and the live processes below it, summed. */
export function treeRssMiB(pid: number): number {
  return overTree(pid, rssMiB);
}

/**
 * Read-family and write-family system calls made so far (`syscr`, `syscw` of /proc/PID/io:
 * read, readv, pread, write, writev, pwrite, sendfile, … — not recvmsg/sendmsg, epoll or
 * timers), by `pid` and the live processes below it, every thread counted. The kernel
 * counts them without tracing, so reading them does not slow the process.
 */
export function treeSyscalls(pid: number): { read: number; write: number } {
  const field = (p: number, name: string) => {
    const match = new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(readFileSync(`/proc/${p}/io`, 'utf8'));
    return match ? Number(match[1]) : 0;
  };
  return { read: overTree(pid, (p) => field(p, 'syscr')), write: overTree(pid, (p) => field(p, 'syscw')) };
}

export function fdLimit(): { soft: number; hard: number } {
  const limits = readFileSync('/proc/self/limits', 'utf8');
  const match = /Max open files\s+(\d+|unlimited)\s+(\d+|unlimited)/.exec(limits);
  const parse = (value: string | undefined) => (value === undefined || value === 'unlimited' ? Infinity : Number(value));
  return { soft: parse(match?.[1]), hard: parse(match?.[2]) };
}
