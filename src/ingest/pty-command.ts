// `wirecam serve --source-cmd COMMAND`: a producer program run under a pseudo-terminal, one
// update per line of its output. A terminal, not a pipe, because many programs buffer their
// output in large blocks when it is not a terminal and would deliver camera states in bursts
// seconds late. The command is restarted with backoff when it exits, and stopped (its whole
// process group) on shutdown.
//
// Every line the program prints before it exits is read, also when it prints a lot and exits
// at once. Reading a pty master through Node (libuv) loses what is still buffered when the
// program exits: on the hang-up that the program's exit causes, libuv takes a short read
// (and a pty read is always short, a few KB at most) as the end of the output and stops
// reading, and node-pty ends the stream 200 ms after the exit in any case. So the end of a
// run is not taken from the exit: a small shell (RUNNER) runs the command, then prints an
// end marker with the command's exit status on the same terminal, after everything the
// command printed, and keeps the terminal open until wirecam has read the marker and says so
// (a newline on the terminal's input). Only then does it exit with the command's status.
//
// Nothing valid is dropped when the program prints faster than the store takes its updates:
// when the producers' queue has no room, reading the terminal stops (node-pty's pause()), the
// terminal's buffer fills and the program blocks in its own write, as a program writing to a
// slow terminal does; reading resumes once the queue has drained (ProducerWriter.room()).
import { randomBytes } from 'node:crypto';
import type { IPty } from 'node-pty';
import type { UpdateInput } from '../protocol/messages.js';
import type { Logger } from '../log.js';
import type { RateLimitedLog } from '../util/rate-limited-log.js';
import { Backoff } from '../util/backoff.js';
import { describeError } from '../util/describe-error.js';
import { Redactor } from '../util/redact.js';
import { parseLine, type LineRejectReason } from './line-update.js';
import { LineBuffer } from './line-buffer.js';
import { commandEnvironment } from './command-secrets.js';

/** Longer lines (UTF-16 code units) are dropped (and counted) rather than buffered without bound. */
export const MAX_LINE_CHARS = 64 * 1024;
/** A rejected line is logged cut to this many characters (after its secrets are masked). */
const LOGGED_LINE_CHARS = 200;
/** A run this long counts as healthy: the next restart starts from the shortest delay. */
const HEALTHY_RUN_MS = 10_000;
/** How long a stopped command has to exit after SIGTERM before SIGKILL. */
const STOP_GRACE_MS = 3_000;
/**
 * The shell around the command ($1), with the run's end marker as $2: the command's output,
 * then a newline (which ends a last line printed without one: the command has exited), then
 * "MARKER STATUS"; then it waits for wirecam's newline so that the terminal stays open until
 * all of it has been read, and exits with the command's status. The command's text is an
 * argument, never part of this script.
 */
const RUNNER = `/bin/sh -c "$1"
status=$?
printf '\\n%s %d\\n' "$2" "$status"
read -r _
exit "$status"`;

/** Where a PtyCommandSource's updates go: the producers' queue (ProducerWriter), through node.ts. */
export interface CommandUpdateQueue {
  /**
   * Offers a valid update: true when queued; false when the queue has no room now. The source
   * then keeps the update (and every later one, in order), stops reading the terminal, and
   * offers it again once `room()` resolves.
   */
  offer(update: UpdateInput): boolean;
  /** Resolves when the queue can take updates again (called after offer returned false). */
  room(): Promise<void>;
}

/** What a PtyCommandSource reports; startCommandSource logs each. */
export interface CommandSourceEvents extends CommandUpdateQueue {
  /** `line`: the line as printed (a trailing \r removed), whole; the receiver cuts and masks it for a log. */
  rejected(reason: LineRejectReason, message: string, line: string): void;
  /** Reading stopped because the queue had no room (the program now waits in its write); `stats.paused` counts it. */
  paused(): void;
  /** A run began: `pid` of the runner shell (its process group), `run` counts from 1. */
  started(pid: number, run: number): void;
  /**
   * A run ended. `code`: the command's exit status (128 + n when it was killed by signal n);
   * `signal`: the runner's, when it was killed (stop); `restartInMs`: the delay before the
   * next run (ms), null when stopped.
   */
  exited(info: { code: number; signal: number | null; restartInMs: number | null }): void;
  /** The command could not be started at all (e.g. node-pty is missing). */
  failed(error: unknown): void;
}

/**
 * Counts since start: `runs` of the command; `lines` not blank (the end marker excluded);
 * `updates` queued; `rejected` lines (invalid, too long, incomplete); `paused`: how often
 * reading stopped because the queue had no room (the program waited; nothing was dropped).
 */
export interface CommandSourceStats {
  runs: number;
  lines: number;
  updates: number;
  rejected: number;
  paused: number;
}

/** How the command is restarted. */
export interface CommandSourceOptions {
  /**
   * Restart delays in ms (default 500 doubling to 30,000, each cut by up to 20% at random;
   * back to the shortest after a run of 10 s or more); the defaults suit a real program,
   * tests shorten them.
   */
  restart?: { initialDelayMs?: number; maxDelayMs?: number };
}

/** startCommandSource's options: the restart delays, and what to mask in the log. */
export interface StartCommandOptions extends CommandSourceOptions {
  /** Values masked wherever the program's output or the command reaches the log (configuredSecrets() of command-secrets.ts). */
  secrets?: Iterable<string>;
}

type Spawn = typeof import('node-pty').spawn;

/** One run of the command: its terminal, its line buffer, and whether its end marker was read. */
interface Run {
  child: IPty;
  marker: string;
  lines: LineBuffer;
  /** The command's exit status, from the end marker; null until the marker is read. */
  status: number | null;
}

/**
 * Runs `command` (`/bin/sh -c`) under a pseudo-terminal (node-pty; TERM=dumb, 1000 columns,
 * without wirecam's secrets in its environment) and turns each line of its output into an
 * update (line-update.ts) for `events.offer`, in order. When the queue has no room, stops
 * reading the terminal until `events.room()` resolves (the program then waits in its write).
 * Restarts the command with backoff whenever it exits, until `stop`. Memory: one partial line
 * of at most MAX_LINE_CHARS, and while the queue is full the updates of the one chunk of
 * output being read when it filled (at most 64 KiB of output: a few thousand updates).
 */
export class PtyCommandSource {
  /** Counts since start (CommandSourceStats); logged with every exit. */
  readonly stats: CommandSourceStats = { runs: 0, lines: 0, updates: 0, rejected: 0, paused: 0 };
  /** Valid updates read but not yet queued (the queue had no room), oldest first from `pendingHead`. */
  private pending: UpdateInput[] = [];
  private pendingHead = 0;
  /** A room() wait is under way: reading is paused. */
  private waitingForRoom = false;
  /** abandon() was called: what is pending is gone, nothing more is offered. */
  private abandoned = false;
  private drainedWaiters: Array<() => void> = [];
  private readonly backoff: Backoff;
  private current: Run | null = null;
  private childExited: Promise<void> = Promise.resolve();
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
      throw new Error(`--source-cmd needs node-pty, which could not be loaded: ${describeError(error).split(' Require stack:')[0]}`);
    }
    this.run();
  }

  private run(): void {
    if (this.stopped || this.spawnPty === null) return;
    const marker = `wirecam-end-${randomBytes(16).toString('hex')}`;
    let child: IPty;
    try {
      child = this.spawnPty('/bin/sh', ['-c', RUNNER, 'wirecam-source-cmd', this.command, marker], {
        name: 'dumb',
        // Wide, so that a program formatting to the terminal's width does not wrap lines.
        cols: 1000,
        rows: 50,
        cwd: process.cwd(),
        // TERM=dumb: still a terminal (line-buffered output) but no colours or cursor moves.
        // Without wirecam's secrets: they are not the program's.
        env: commandEnvironment(process.env, 'dumb'),
      });
    } catch (error) {
      this.events.failed(error);
      this.scheduleRestart(Date.now());
      return;
    }
    const startedAt = Date.now();
    const run: Run = {
      child,
      marker,
      status: null,
      lines: new LineBuffer(MAX_LINE_CHARS, {
        line: (line) => this.handleLine(run, line),
        tooLong: (head) => this.reject('line_too_long', `a line longer than ${MAX_LINE_CHARS} characters`, head),
      }),
    };
    this.current = run;
    this.stats.runs++;
    this.events.started(child.pid, this.stats.runs);
    child.onData((data) => run.lines.push(data));
    this.childExited = new Promise((resolve) => {
      child.onExit(({ exitCode, signal }) => {
        // Without the marker the output was cut off (the runner was killed): what follows the
        // last newline may be half a line, and is not taken.
        const rest = run.lines.discard().replace(/\r$/, '');
        if (rest.trim() !== '') this.reject('incomplete_line', 'the output ended in the middle of a line (the command was stopped)', rest);
        this.current = null;
        resolve();
        const restartInMs = this.scheduleRestart(startedAt);
        this.events.exited({ code: run.status ?? exitCode, signal: signal ? signal : null, restartInMs });
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

  private handleLine(run: Run, raw: string): void {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (run.status === null && line.startsWith(run.marker)) {
      const status = /^ (\d+)$/.exec(line.slice(run.marker.length));
      if (status !== null) {
        // Everything the command printed has been read: the runner may exit now.
        run.status = Number(status[1]);
        run.child.write('\n');
        return;
      }
    }
    const parsed = parseLine(line, Date.now());
    if (parsed.kind === 'blank') return;
    this.stats.lines++;
    if (parsed.kind === 'invalid') {
      this.reject(parsed.reason, parsed.message, line);
      return;
    }
    this.offer(run, parsed.update);
  }

  /** Queues `update`, or keeps it (after any kept before it) and pauses `run`'s terminal. */
  private offer(run: Run, update: UpdateInput): void {
    if (this.abandoned) return;
    if (this.pendingHead === this.pending.length && this.events.offer(update)) {
      this.stats.updates++;
      return;
    }
    this.pending.push(update);
    // Stop reading: the rest of the chunk being read still arrives, then nothing until resume.
    run.child.pause();
    if (!this.waitingForRoom) {
      this.stats.paused++;
      this.waitForRoom();
      this.events.paused();
    }
  }

  private waitForRoom(): void {
    this.waitingForRoom = true;
    void this.events.room().then(() => this.flush());
  }

  /** Offers the kept updates, in order; resumes reading once every one is queued. */
  private flush(): void {
    this.waitingForRoom = false;
    if (this.abandoned) return;
    while (this.pendingHead < this.pending.length) {
      if (!this.events.offer(this.pending[this.pendingHead]!)) {
        this.waitForRoom();
        return;
      }
      this.pendingHead++;
      this.stats.updates++;
    }
    this.pending = [];
    this.pendingHead = 0;
    this.resumeReading();
    const waiters = this.drainedWaiters;
    this.drainedWaiters = [];
    for (const resolve of waiters) resolve();
  }

  private resumeReading(): void {
    try {
      this.current?.child.resume();
    } catch {
      // The terminal is already closed: nothing left to read.
    }
  }

  /** Valid updates read from the program but not yet queued (the queue had no room). */
  get pendingUpdates(): number {
    return this.pending.length - this.pendingHead;
  }

  /** Resolves when every valid update read so far has been queued (at once when none waits). */
  drained(): Promise<void> {
    if (this.abandoned || this.pendingUpdates === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainedWaiters.push(resolve));
  }

  /**
   * Gives up on the updates still waiting for room (shutdown after the store stayed locked);
   * returns how many, never stored. Call after stop().
   */
  abandon(): number {
    const count = this.pendingUpdates;
    this.abandoned = true;
    this.pending = [];
    this.pendingHead = 0;
    const waiters = this.drainedWaiters;
    this.drainedWaiters = [];
    for (const resolve of waiters) resolve();
    return count;
  }

  private reject(reason: LineRejectReason, message: string, line: string): void {
    this.stats.rejected++;
    this.events.rejected(reason, message, line);
  }

  /** Stops the command (SIGTERM to its process group, SIGKILL after a grace) for good. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.restartTimer !== null) clearTimeout(this.restartTimer);
    this.restartTimer = null;
    const child = this.current?.child;
    if (child === undefined) return;
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
 * The source as `wirecam serve` runs it: updates go to `queue` (the producer writer, so they
 * are stored before they are broadcast; reading waits for its room), and what happens to the command is logged,
 * invalid lines at most once per reason and interval, cut to LOGGED_LINE_CHARS (200)
 * characters with every one of `options.secrets` masked first. Rejects when node-pty cannot
 * be loaded.
 */
export async function startCommandSource(
  command: string,
  queue: CommandUpdateQueue,
  log: Logger,
  throttle: RateLimitedLog,
  options: StartCommandOptions = {},
): Promise<PtyCommandSource> {
  const redactor = new Redactor(options.secrets ?? []);
  const shownCommand = redactor.redact(command, MAX_LINE_CHARS);
  const source: PtyCommandSource = new PtyCommandSource(
    command,
    {
      offer: (update) => queue.offer(update),
      room: () => queue.room(),
      rejected: (reason, message, line) => {
        const count = throttle.admit(`source-cmd:${reason}`);
        if (count > 0) {
          log.warn(
            { reason, message: redactor.redact(message, LOGGED_LINE_CHARS), line: redactor.redact(line, LOGGED_LINE_CHARS), count, rejected_total: source.stats.rejected },
            'skipped invalid line from --source-cmd',
          );
        }
      },
      paused: () => {
        const count = throttle.admit('source-cmd:paused');
        if (count > 0) log.info({ count, paused_total: source.stats.paused }, 'source command waiting: the store queue is full');
      },
      started: (pid, run) => log.info({ pid, run, command: shownCommand }, 'source command started'),
      exited: ({ code, signal, restartInMs }) =>
        log.warn({ code, signal, restart_in_ms: restartInMs, ...source.stats }, restartInMs === null ? 'source command stopped' : 'source command exited; restarting'),
      failed: (error) => log.error({ err: redactor.redact(describeError(error), MAX_LINE_CHARS), command: shownCommand }, 'source command could not be started'),
    },
    options,
  );
  await source.start();
  return source;
}
