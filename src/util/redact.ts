// Text from outside (a child program's output) on its way into a log line: every occurrence
// of a configured secret masked, then cut to a bound, in that order, so that a cut can never
// leave part of a secret behind.

/** What stands for a masked secret. */
export const MASK = '***';

/**
 * Masks a fixed set of secrets (tokens, passwords) in outside text before it is logged, then
 * bounds its length. Never throws.
 */
export class Redactor {
  private readonly secrets: string[];

  /** `secrets`: the exact strings to mask (empty ones are ignored); longest first, so that a secret containing another is masked whole. */
  constructor(secrets: Iterable<string>) {
    this.secrets = [...new Set([...secrets].filter((secret) => secret !== ''))].sort((a, b) => b.length - a.length);
  }

  /**
   * `text` with every secret replaced by `***`, then cut to `maxChars` characters (UTF-16
   * code units) followed by `…` when it was longer.
   */
  redact(text: string, maxChars: number): string {
    let masked = text;
    for (const secret of this.secrets) if (masked.includes(secret)) masked = masked.split(secret).join(MASK);
    return masked.length > maxChars ? `${masked.slice(0, maxChars)}…` : masked;
  }
}
