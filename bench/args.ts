// The options of the bench's commands (`--name value`), read the same way by each.

/** Reads `--name value` options from an argument list (default: this process's arguments). */
export class BenchArgs {
  constructor(private readonly argv: readonly string[] = process.argv.slice(2)) {}

  /** The value after `--name`, or undefined when absent. Throws when the value is missing. */
  value(name: string): string | undefined {
    const i = this.argv.indexOf(`--${name}`);
    if (i === -1) return undefined;
    const v = this.argv[i + 1];
    if (v === undefined || v.startsWith('--')) throw new Error(`--${name} needs a value`);
    return v;
  }

  /** A whole number of at least `min`, `fallback` when absent. Throws on anything else. */
  number(name: string, fallback: number, min = 1): number {
    const raw = this.value(name);
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be a whole number >= ${min}, got '${raw}'`);
    return n;
  }

  /** Whether the flag `--name` is present. */
  has(name: string): boolean {
    return this.argv.includes(`--${name}`);
  }
}
