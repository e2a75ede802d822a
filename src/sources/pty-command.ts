// `wirecam serve --source-cmd COMMAND`: a producer program run under a pseudo-terminal, one
// update per line of its output. A terminal, not a pipe, because many programs buffer their
// output in large blocks when it is not a terminal and would deliver camera states in bursts
// seconds late. The command is restarted with backoff when it exits, and stopped (its whole
// process group) on shutdown.
import type { IPty } from 'node-pty';
import type { UpdateInput } from '../protocol/messages.js';
import type { Logger, RateLimitedLog } from '../log.js';
import { Backoff } from '../client/backoff.js';
import { parseLine, type LineRejectReason } from './line-update.js';

/** Longer lines are dropped (and counted) rather than buffered without bound. */
export const MAX_LINE_CHARS = 64 * 1024;
/** A run this long counts as healthy: the next restart starts from the shortest delay. */
const HEALTHY_RUN_MS = 10_000;
/** How long a stopped command has to exit after SIGTERM before SIGKILL. */
const STOP_GRACE_MS = 3_000;

export interface CommandSourceEvents {
  /** A valid update; false when it could not be queued (it is then counted as dropped). */
  update(update: UpdateInput): boolean;
  rejected(reason: LineRejectReason, message: string, line: string): void;
  started(pid: number, run: number): void;
  exited(info: { code: number; signal: number | null; restartInMs: number | null }): void;
  /** The command could not be started at all (e.g. node-pty is missing). */
  failed(error: unknown): void;
}

export interface CommandSourceStats {
  runs: number;
  lines: number;
  updates: number;
  rejected: number;
  dropped: number;
}

export interface CommandSourceOptions {
  /** Restart delays; the defaults suit a real program, tests shorten them. */
  restart?: { initialDelayMs?: number; maxDelayMs?: number };
}

type Spawn = typeof import('node-pty').spawn;

export class PtyCommandSource {
  readonly stats: CommandSourceStats = { runs: 0, lines: 0, updates: 0, rejected: 0, dropped: 0 };
  private readonly backoff: Backoff;
  private child: IPty | null = null;
  private childExited: Promise<void> = Promise.resolve();
  private partial = '';
  private restartTimer: NodeJS.Timeout | null = null;
  private stopped = false;
  private spawnPty: Spawn | null = null;

  constructor(
    private readonly command: string,
    private readonly events: CommandSourceEvents,
    options: CommandSourceOptions = {},
  ) {
    this.backoff = new Backoff({ initialDelayMs: 500, maxDelayMs: 30_000, factor: 2, jitter: 0.2, ...options.restart });
  }

  /** Loads node-pty and starts the command; rejects when node-pty cannot be loaded. */
  async start(): Promise<void> {
    try {
      this.spawnPty = (await import('node-pty')).spawn;
    } catch (error) {
      throw new Error(`--source-cmd needs node-pty, which could not be loaded: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
    }
    this.run();
  }

  private run(): void {
    if (this.stopped || this.spawnPty === null) return;
    let child: IPty;
    try {
      child = this.spawnPty('/bin/sh', ['-c', this.command], {
        name: 'dumb',
        // Wide, so that a program formatting to the terminal's width does not wrap lines.
        cols: 1000,
        rows: 50,
        cwd: process.cwd(),
        // TERM=dumb: still a terminal (line-buffered output) but no colours or cursor moves.
        env: { ...process.env, TERM: 'dumb' } as Record<string, string>,
      });
    } catch (error) {
      this.events.failed(error);
      this.scheduleRestart(Date.now());
      return;
    }
    const startedAt = Date.now();
    this.child = child;
    this.stats.runs++;
    this.partial = '';
    this.events.started(child.pid, this.stats.runs);
    child.onData((data) => this.receive(data));
    this.childExited = new Promise((resolve) => {
      child.onExit(({ exitCode, signal }) => {
        this.flushPartial();
        this.child = null;
        resolve();
        const restartInMs = this.scheduleRestart(startedAt);
        this.events.exited({ code: exitCode, signal: signal ?? null, restartInMs });
      });
    });
  }

  /** Returns the delay before the next run, or null when stopped. */
  private scheduleRestart(startedAt: number): number | null {
    if (this.stopped) return null;
    if (Date.now() - startedAt >= HEALTHY_RUN_MS) this.backoff.reset();
    const delay = this.backoff.next();
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      this.run();
    }, delay);
    return delay;
  }

  private receive(data: string): void {
    const text = this.partial + data;
    const lines = text.split('\n');
    this.partial = lines.pop()!;
    for (const line of lines) this.handleLine(line);
    if (this.partial.length > MAX_LINE_CHARS) {
      this.partial = '';
      this.reject('line_too_long', `a line longer than ${MAX_LINE_CHARS} characters`, '');
    }
  }

  private flushPartial(): void {
    if (this.partial !== '') this.handleLine(this.partial);
    this.partial = '';
  }

  private handleLine(line: string): void {
    const parsed = parseLine(line, Date.now());
    if (parsed.kind === 'blank') return;
    this.stats.lines++;
    if (parsed.kind === 'invalid') {
      this.reject(parsed.reason, parsed.message, line);
      return;
    }
    if (this.events.update(parsed.update)) this.stats.updates++;
    else this.stats.dropped++;
  }

  private reject(reason: LineRejectReason, message: string, line: string): void {
    this.stats.rejected++;
    this.events.rejected(reason, message, line.replace(/\r$/, '').slice(0, 200));
  }

  /** Stops the command (SIGTERM to its process group, SIGKILL after a grace) for good. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.restartTimer !== null) clearTimeout(this.restartTimer);
    this.restartTimer = null;
    const child = this.child;
    if (child === null) return;
    signalGroup(child, 'SIGTERM');
    const killer = setTimeout(() => signalGroup(child, 'SIGKILL'), STOP_GRACE_MS);
    // Bounded: a process that survives SIGKILL (stuck in the kernel) must not hold up shutdown.
    let giveUp: NodeJS.Timeout | undefined;
    await Promise.race([this.childExited, new Promise<void>((resolve) => (giveUp = setTimeout(resolve, STOP_GRACE_MS + 1_000)))]);
    clearTimeout(killer);
    clearTimeout(giveUp);
  }
}

/** The command runs in its own session (node-pty calls setsid), so its pid is its group. */
function signalGroup(child: IPty, signal: NodeJS.Signals): void {
  try {
    process.kill(-child.pid, signal);
  } catch {
    try {
      child.kill(signal);
    } catch {
      // Already gone.
    }
  }
}

/**
 * The source as `wirecam serve` runs it: updates go to `enqueue` (the producer writer, so
 * they are stored before they are broadcast), and what happens to the command is logged,
 * invalid lines at most once per reason and interval.
 */
export async function startCommandSource(
  command: string,
  enqueue: (update: UpdateInput) => boolean,
  log: Logger,
  throttle: RateLimitedLog,
  options: CommandSourceOptions = {},
): Promise<PtyCommandSource> {
  const source: PtyCommandSource = new PtyCommandSource(
    command,
    {
      update: enqueue,
      rejected: (reason, message, line) => {
        const count = throttle.admit(`source-cmd:${reason}`);
        if (count > 0) log.warn({ reason, message, line, count, rejected_total: source.stats.rejected }, 'skipped invalid line from --source-cmd');
      },
      started: (pid, run) => log.info({ pid, run, command }, 'source command started'),
      exited: ({ code, signal, restartInMs }) =>
        log.warn({ code, signal, restart_in_ms: restartInMs, ...source.stats }, restartInMs === null ? 'source command stopped' : 'source command exited; restarting'),
      failed: (error) => log.error({ err: error instanceof Error ? error.message : String(error), command }, 'source command could not be started'),
    },
    options,
  );
  await source.start();
  return source;
}
