// A program's output, arriving in chunks of any size, to whole lines. A line is taken only
// when it is complete, at its newline, never because a chunk happened to end there; what
// follows the last newline when the output stops is handed back (`discard()`), not taken.
// A line longer than the bound is dropped whole: neither its head nor its tail is ever
// taken as a line of its own. Memory: at most `maxChars` characters are held.

/** What the buffer hands back: whole lines, and the lines it had to drop for their length. */
export interface LineSink {
  /** One whole line, without its newline (a \r before it is kept). */
  line(text: string): void;
  /** A line longer than the bound was dropped; `head` is its first HEAD_CHARS characters. */
  tooLong(head: string): void;
}

/** How much of a dropped line is handed on (enough to mask a secret in it before it is cut for a log). */
export const HEAD_CHARS = 4096;

/** Splits output into whole lines for a LineSink; see the file's head for the rules. */
export class LineBuffer {
  private partial = '';
  /** Inside a line that is already known to be too long: skip up to its newline. */
  private skipping = false;

  /** `maxChars`: the longest line taken (UTF-16 code units, as JavaScript counts them). */
  constructor(
    private readonly maxChars: number,
    private readonly sink: LineSink,
  ) {}

  /** Adds a chunk of output; every line it completes goes to the sink, in order. */
  push(chunk: string): void {
    let start = 0;
    for (;;) {
      const newline = chunk.indexOf('\n', start);
      if (newline === -1) break;
      const piece = chunk.slice(start, newline);
      start = newline + 1;
      if (this.skipping) {
        this.skipping = false;
        continue;
      }
      const line = this.partial === '' ? piece : this.partial + piece;
      this.partial = '';
      if (line.length > this.maxChars) this.sink.tooLong(line.slice(0, HEAD_CHARS));
      else this.sink.line(line);
    }
    if (this.skipping || start === chunk.length) return;
    this.partial += chunk.slice(start);
    if (this.partial.length > this.maxChars) {
      this.sink.tooLong(this.partial.slice(0, HEAD_CHARS));
      this.partial = '';
      this.skipping = true;
    }
  }

  /**
   * Forgets what is pending without taking it (the output was cut off: what follows the last
   * newline is not known to be a whole line). Returns what was dropped.
   */
  discard(): string {
    const rest = this.partial;
    this.reset();
    return rest;
  }

  private reset(): void {
    this.partial = '';
    this.skipping = false;
  }
}
