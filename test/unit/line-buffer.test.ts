// Output chunks to whole lines (--source-cmd): however the output is cut into chunks, the
// same lines come out; a line over the bound is dropped whole; a cut-off rest is not a line.
// And what of a line reaches the log: secrets masked, then cut.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { HEAD_CHARS, LineBuffer } from '../../src/ingest/line-buffer.js';
import { Redactor } from '../../src/util/redact.js';
import { commandEnvironment } from '../../src/ingest/command-secrets.js';

function collect(maxChars: number) {
  const lines: string[] = [];
  const tooLong: string[] = [];
  const buffer = new LineBuffer(maxChars, { line: (l) => lines.push(l), tooLong: (h) => tooLong.push(h) });
  return { buffer, lines, tooLong };
}

/** `text` cut at the given offsets. */
function chunks(text: string, cuts: number[]): string[] {
  const at = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b);
  const pieces: string[] = [];
  let from = 0;
  for (const to of at) {
    pieces.push(text.slice(from, to));
    from = to;
  }
  pieces.push(text.slice(from));
  return pieces;
}

describe('LineBuffer', () => {
  it('gives the same whole lines however the output is chunked, and keeps the unfinished rest back', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: fc.constantFrom('a', 'b', '=', ' ', '\n', '\r', '1') }), { maxLength: 20 }), fc.array(fc.nat(), { maxLength: 10 }), (parts, cuts) => {
        const text = parts.join('');
        const { buffer, lines, tooLong } = collect(1000);
        for (const chunk of chunks(text, cuts)) buffer.push(chunk);
        const whole = text.split('\n');
        const rest = whole.pop()!;
        expect(lines).toEqual(whole);
        expect(tooLong).toEqual([]);
        expect(buffer.discard()).toBe(rest);
      }),
    );
  });

  it('drops a line over the bound whole: neither its head nor its tail becomes a line', () => {
    fc.assert(
      fc.property(fc.integer({ min: 11, max: 60 }), fc.array(fc.nat(), { maxLength: 10 }), (length, cuts) => {
        const text = `short\n${'x'.repeat(length)}\nafter\n`;
        const { buffer, lines, tooLong } = collect(10);
        for (const chunk of chunks(text, cuts)) buffer.push(chunk);
        expect(lines).toEqual(['short', 'after']);
        // Its head: as much of it as had arrived when it went over the bound.
        expect(tooLong).toHaveLength(1);
        expect(tooLong[0]).toMatch(/^x{11,}$/);
        expect(tooLong[0]!.length).toBeLessThanOrEqual(Math.min(length, HEAD_CHARS));
        expect(buffer.discard()).toBe('');
      }),
    );
  });

  it('forgets a line that was too long when the output is cut off inside it', () => {
    const { buffer, lines, tooLong } = collect(10);
    buffer.push('y'.repeat(25));
    expect(tooLong).toHaveLength(1);
    expect(buffer.discard()).toBe('');
    buffer.push('next\n');
    expect(lines).toEqual(['next']);
  });
});

describe('Redactor', () => {
  it('masks every configured secret, longest first, before it cuts', () => {
    const redactor = new Redactor(['abc', 'abcdef', '']);
    expect(redactor.redact('x abcdef y abc z', 100)).toBe('x *** y *** z');
    // The secret straddles the cut: masked first, nothing of it is left.
    expect(redactor.redact(`${'-'.repeat(8)}abcdef`, 10)).toBe(`${'-'.repeat(8)}**…`);
    expect(redactor.redact('plain', 3)).toBe('pla…');
  });
});

describe('commandEnvironment', () => {
  it("keeps everything but wirecam's secret variables, and sets TERM", () => {
    const env = commandEnvironment(
      { PATH: '/bin', WIRECAM_PRODUCER_TOKEN: 'p', WIRECAM_VIEWER_TOKEN: 'v', WIRECAM_VIEWER_TOKEN_FILE: '/t', WIRECAM_REDIS_URL: 'redis://x', WIRECAM_TOKEN: 't', WIRECAM_PORT: '1', TERM: 'xterm', UNSET: undefined },
      'dumb',
    );
    expect(env).toEqual({ PATH: '/bin', WIRECAM_PORT: '1', TERM: 'dumb' });
  });
});
