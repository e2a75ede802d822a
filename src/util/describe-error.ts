// One way to turn anything thrown into a short, readable reason for a log line, /healthz or
// an error message. Errors that crossed a thread (piscina tasks, MessagePorts) may arrive as
// plain objects rather than Error instances; they are described by their message too, never
// as "[object Object]".

/**
 * A one-line description of `error`: its message (with its `code`, such as SQLite's
 * `SQLITE_BUSY` or Node's `ENOENT`, when the message does not already name it), white space
 * folded. Accepts anything: Error instances, error-like objects ({message, code}), strings,
 * numbers, null. Never throws.
 */
export function describeError(error: unknown): string {
  if (typeof error === 'string') return fold(error);
  if (error !== null && typeof error === 'object') {
    const { message, code } = error as { message?: unknown; code?: unknown };
    if (typeof message === 'string' && message !== '') {
      const text = fold(message);
      return typeof code === 'string' && code !== '' && !text.includes(code) ? `${code}: ${text}` : text;
    }
    if (typeof code === 'string' && code !== '') return code;
    try {
      const json = JSON.stringify(error);
      if (json !== undefined && json !== '{}') return fold(json);
    } catch {
      // A cycle or a BigInt: fall through to the constructor's name.
    }
    const name = (error as { constructor?: { name?: unknown } }).constructor?.name;
    return typeof name === 'string' && name !== 'Object' ? name : 'unknown error';
  }
  return String(error);
}

function fold(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}
