// Progress of long work on stderr: a bar redrawn in place on a terminal, a plain line now
// and then otherwise (logs and CI output stay readable, one line per report).
// Hand-written, not cli-progress or progress: on a terminal both move the cursor with
// CSI sequences (ESC[1G) instead of a carriage return, cli-progress prints its first line on a
// pipe at once and progress prints nothing on a pipe, and neither takes an injected clock.

/** Where progress is written: stderr, or any object with `write` (tests). */
export interface ProgressStream {
  isTTY?: boolean;
  columns?: number;
  write(text: string): boolean;
}

/**
 * `label` starts every line; `unit` follows the counts (e.g. `s`, `rows`); `now` is the clock in
 * ms (default Date.now).
 */
export interface ProgressOptions {
  label: string;
  /** Expected total in `unit`s, or 0 when unknown (no bar, no percentage). */
  total: number;
  unit: string;
  stream: ProgressStream;
  /** Least time between two redraws on a terminal. */
  redrawMs?: number;
  /** Time between two plain lines when not on a terminal. */
  lineMs?: number;
  now?: () => number;
}

const BAR_WIDTH = 24;

/**
 * One progress line: `label  [####....]  42%  21/50 unit  detail` with `bar`, `label  42%  21/50
 * unit  detail` without, `label  21 unit  detail` when `total` is 0 (unknown).
 */
export function formatProgress(label: string, done: number, total: number, unit: string, detail: string, bar: boolean): string {
  const parts = [label];
  if (total > 0) {
    const fraction = Math.min(1, Math.max(0, done / total));
    const percent = `${Math.floor(fraction * 100)}%`.padStart(4);
    if (bar) {
      const filled = Math.round(fraction * BAR_WIDTH);
      parts.push(`[${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}] ${percent}`);
    } else {
      parts.push(percent.trim());
    }
    parts.push(`${trim(done)}/${trim(total)} ${unit}`);
  } else {
    parts.push(`${trim(done)} ${unit}`);
  }
  if (detail !== '') parts.push(detail);
  return parts.join('  ');
}

function trim(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(1);
}

/**
 * Progress of one piece of work: on a terminal one line redrawn in place (carriage return) at
 * most every `redrawMs` (100 ms); otherwise a plain line every `lineMs` (5 s), the first after
 * one interval.
 */
export class Progress {
  private readonly redrawMs: number;
  private readonly lineMs: number;
  private readonly now: () => number;
  private lastDrawAt = Number.NEGATIVE_INFINITY;
  private drawn = false;

  constructor(private readonly options: ProgressOptions) {
    this.redrawMs = options.redrawMs ?? 100;
    this.lineMs = options.lineMs ?? 5000;
    this.now = options.now ?? Date.now;
    // The first plain line comes after one interval, not at once: short runs stay quiet.
    if (!options.stream.isTTY) this.lastDrawAt = this.now();
  }

  /**
   * `done` units so far (of `total`) and a free-form `detail`; drawn only when its interval has
   * passed, so it may be called as often as wanted.
   */
  update(done: number, detail = ''): void {
    const now = this.now();
    const tty = this.options.stream.isTTY === true;
    if (now - this.lastDrawAt < (tty ? this.redrawMs : this.lineMs)) return;
    this.lastDrawAt = now;
    const { label, total, unit, stream } = this.options;
    const text = formatProgress(label, done, total, unit, detail, tty);
    if (tty) {
      const width = Math.max(20, (stream.columns ?? 80) - 1);
      stream.write(`\r${text.slice(0, width)}\x1b[K`);
      this.drawn = true;
    } else {
      stream.write(`${text}\n`);
    }
  }

  /** Clears the bar so that the next line starts clean. */
  finish(): void {
    if (this.drawn) this.options.stream.write('\r\x1b[K');
    this.drawn = false;
  }
}
