// Lines of a --source-cmd program to updates: JSON or key=value, validated like every update.
import { describe, expect, it } from 'vitest';
import { parseLine, parsePairs, stripControlSequences } from '../../src/ingest/line-update.js';

const NOW = 1_795_000_000_000;

describe('parseLine', () => {
  it('reads key=value camera states, numbers as numbers, targets optional', () => {
    expect(parseLine('camera=main x=1.5 y=2 zoom=1.25', NOW)).toEqual({
      kind: 'update',
      update: { kind: 'camera', value: { camera: 'main', x: 1.5, y: 2, zoom: 1.25, target_x: null, target_y: null, target_zoom: null, timestamp: NOW } },
    });
    expect(parseLine('x=-3e2 y=0 zoom=2 target_x=1 timestamp=1795000000123', NOW)).toMatchObject({
      update: { kind: 'camera', value: { camera: 'main', x: -300, target_x: 1, timestamp: 1_795_000_000_123 } },
    });
  });

  it('reads tile updates, with quoted values', () => {
    expect(parseLine('type=tile_update x=1 y=2 brick=stone', NOW)).toEqual({ kind: 'update', update: { kind: 'tile', value: { x: 1, y: 2, brick: 'stone', timestamp: NOW } } });
    expect(parseLine('type=tile_update x=1 y=2 brick="stone \\"wall\\""', NOW)).toMatchObject({ update: { value: { brick: 'stone "wall"' } } });
  });

  it('reads JSON objects with the fields of the wire messages', () => {
    expect(parseLine('{"type":"camera_update","camera":"c1","x":1,"y":2,"zoom":3}', NOW)).toMatchObject({ update: { kind: 'camera', value: { camera: 'c1', zoom: 3 } } });
    expect(parseLine('{"type":"tile_update","x":1,"y":2,"brick":"b"}', NOW)).toMatchObject({ update: { kind: 'tile' } });
  });

  it('ignores blank lines and terminal noise, and says why a line is not an update', () => {
    expect(parseLine('  \r', NOW)).toEqual({ kind: 'blank' });
    expect(parseLine('\x1b[32mcamera=main x=1 y=2 zoom=1\x1b[0m\r', NOW)).toMatchObject({ kind: 'update' });
    const reason = (line: string) => (parseLine(line, NOW) as { reason?: string }).reason;
    expect(reason('starting up...')).toBe('not_an_update');
    expect(reason('camera=main x=1 y=2 zoom=1 trailing')).toBe('not_an_update');
    expect(reason('{"x": 1,')).toBe('bad_json');
    expect(reason('[1, 2]')).toBe('not_an_update');
    expect(reason('{"type":"hello"}')).toBe('unknown_type');
    expect(reason('camera=main x=abc y=2 zoom=1')).toBe('non_finite');
    expect(reason('camera=main x= y=2 zoom=1')).toBe('non_finite');
    expect(reason('camera=main x=1 y=2 zoom=0')).toBe('bad_zoom');
    expect(reason('camera=no/slash x=1 y=2 zoom=1')).toBe('bad_camera');
    expect(reason('type=tile_update x=1.5 y=2 brick=b')).toBe('bad_tile_coordinate');
    expect(reason('type=tile_update x=1 y=2')).toBe('bad_brick');
  });
});

describe('helpers', () => {
  it('splits pairs and strips control sequences', () => {
    expect(parsePairs('a=1  b="two words"')).toEqual({ a: '1', b: 'two words' });
    expect(parsePairs('')).toBeNull();
    expect(stripControlSequences('\x1b]0;title\x07a\x1b[1;31mb\x1b[0mc\r')).toBe('abc');
  });
});

describe('parseLine on any input', () => {
  it('never throws: every string is blank, an update or invalid with a reason', async () => {
    const fc = (await import('fast-check')).default;
    // Strings built from the characters the parsers care about, plus any text.
    const piece = fc.oneof(
      fc.constantFrom('x=', 'y=', 'zoom=', 'brick=', 'type=tile_update', 'camera=', '"', '\\', '\\q', '\\u12', '{', '}', ' ', '=', '1', '-2.5e3', 'NaN'),
      fc.string(),
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 12 }), (pieces) => {
        const parsed = parseLine(pieces.join(''), NOW);
        expect(['blank', 'update', 'invalid']).toContain(parsed.kind);
      }),
      { numRuns: 5000 },
    );
    expect(parseLine('type=tile_update x=1 y=2 brick="a\\qb"', NOW)).toMatchObject({ kind: 'invalid', reason: 'not_an_update' });
  });
});
