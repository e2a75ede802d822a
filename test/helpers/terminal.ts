// A program in a real pseudo-terminal (node-pty), its output fed to a headless terminal
// emulator (@xterm/headless) so a test reads the screen a person would see, not raw bytes.
// Every process is ended by its PID. node-pty is optional: `ptyAvailable` says why not.
import { createRequire } from 'node:module';
import type { IPty } from 'node-pty';
import { waitFor } from './wait.js';

const require = createRequire(import.meta.url);

function load(): { pty: typeof import('node-pty') | null; reason: string } {
  try {
    return { pty: require('node-pty') as typeof import('node-pty'), reason: '' };
  } catch (error) {
    return { pty: null, reason: error instanceof Error ? error.message.split('\n')[0]! : String(error) };
  }
}

const loaded = load();
export const ptyAvailable = loaded.pty !== null;
export const ptyUnavailableReason = loaded.reason;

/** Skip with a printed reason, or fail in CI (WIRECAM_CI) where node-pty must work. */
export function requirePty(what: string): boolean {
  if (ptyAvailable) return true;
  if (process.env.WIRECAM_CI) throw new Error(`CI needs node-pty for ${what}: ${ptyUnavailableReason}`);
  console.warn(`SKIPPED ${what}: node-pty cannot be loaded (${ptyUnavailableReason}); npm ci builds it (needs make, g++ and python3)`);
  return false;
}

const { Terminal } = require('@xterm/headless') as typeof import('@xterm/headless');
type HeadlessTerminal = InstanceType<typeof Terminal>;

const running = new Set<IPty>();
process.on('exit', () => {
  for (const child of running) {
    try {
      process.kill(child.pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
});

export class PtyProgram {
  readonly child: IPty;
  readonly terminal: HeadlessTerminal;
  readonly exited: Promise<{ exitCode: number; signal: number | undefined }>;
  private raw = '';
  private pendingWrites = Promise.resolve();
  exit: { exitCode: number; signal: number | undefined } | null = null;

  constructor(file: string, args: string[], options: { cols?: number; rows?: number; env?: NodeJS.ProcessEnv; cwd?: string } = {}) {
    const cols = options.cols ?? 100;
    const rows = options.rows ?? 30;
    this.terminal = new Terminal({ cols, rows, allowProposedApi: true });
    this.child = loaded.pty!.spawn(file, args, {
      name: 'xterm-256color',
      cols,
      rows,
      cwd: options.cwd ?? process.cwd(),
      env: { ...process.env, ...options.env } as Record<string, string>,
    });
    running.add(this.child);
    this.child.onData((data) => {
      this.raw += data;
      this.pendingWrites = this.pendingWrites.then(() => new Promise<void>((resolve) => this.terminal.write(data, resolve)));
    });
    this.exited = new Promise((resolve) => {
      this.child.onExit((result) => {
        running.delete(this.child);
        this.exit = result;
        resolve(result);
      });
    });
  }

  get pid(): number {
    return this.child.pid;
  }

  /** Everything the program wrote, escape sequences included. */
  get output(): string {
    return this.raw;
  }

  /** The visible screen, one string per row, trailing spaces trimmed. */
  screen(): string[] {
    const buffer = this.terminal.buffer.active;
    const lines: string[] = [];
    for (let row = 0; row < this.terminal.rows; row++) lines.push(buffer.getLine(buffer.viewportY + row)?.translateToString(true) ?? '');
    return lines;
  }

  /** True while the program shows the alternate screen (full-screen programs do). */
  get onAlternateScreen(): boolean {
    return this.terminal.buffer.active.type === 'alternate';
  }

  async settled(): Promise<void> {
    await this.pendingWrites;
  }

  async waitForScreen(predicate: (text: string) => boolean, what: string, timeoutMs = 15_000): Promise<string> {
    return waitFor(
      async () => {
        await this.settled();
        const text = this.screen().join('\n');
        return predicate(text) ? text : undefined;
      },
      what,
      timeoutMs,
      25,
    );
  }

  type(keys: string): void {
    this.child.write(keys);
  }

  /** Ends the program by its PID if it is still running. */
  async stop(): Promise<void> {
    if (this.exit === null) {
      try {
        process.kill(this.child.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
      await this.exited;
    }
  }
}

export async function stopAllPtyPrograms(): Promise<void> {
  for (const child of [...running]) {
    try {
      process.kill(child.pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  await waitFor(() => running.size === 0, 'pty programs to exit', 5_000);
}
