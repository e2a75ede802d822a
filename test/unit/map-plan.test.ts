// The decisions of docs/protocol.md section 9 on their own: which resume is honoured, and which
// query values are refused.
import { describe, expect, it } from 'vitest';
import { planTiles } from '../../src/fanout/map-delivery.js';
import { parseTileQuery, type TileRequest } from '../../src/protocol/negotiate.js';

const facts = { epoch: 'e1', tileSeq: 500, horizon: 100 };
const request = (tiles: TileRequest['tiles'], resume: TileRequest['resume'] = null): TileRequest => ({ tiles, resume });

describe('planTiles', () => {
  it('honours a resume in the current epoch, within the horizon, not from the future', () => {
    expect(planTiles(request('live', { epoch: 'e1', since: 300 }), facts)).toEqual({ recovered: true, read: { kind: 'since', after: 300 } });
    expect(planTiles(request('map', { epoch: 'e1', since: 100 }), facts)).toEqual({ recovered: true, read: { kind: 'since', after: 100 } });
    // Up to date: recovered, nothing to read.
    expect(planTiles(request('map', { epoch: 'e1', since: 500 }), facts)).toEqual({ recovered: true, read: null });
  });

  it('falls back to what tiles asks for otherwise', () => {
    for (const resume of [{ epoch: 'e0', since: 300 }, { epoch: 'e1', since: 99 }, { epoch: 'e1', since: 501 }]) {
      expect(planTiles(request('map', resume), facts)).toEqual({ recovered: false, read: { kind: 'map', after: 0 } });
      expect(planTiles(request('live', resume), facts)).toEqual({ recovered: false, read: null });
    }
    expect(planTiles(request('none', { epoch: 'e1', since: 300 }), facts)).toEqual({ recovered: false, read: null });
    expect(planTiles(request('map'), facts)).toEqual({ recovered: false, read: { kind: 'map', after: 0 } });
  });
});

describe('parseTileQuery', () => {
  const parse = (query: string) => parseTileQuery(new URLSearchParams(query));

  it('reads tiles and a resume point', () => {
    expect(parse('')).toEqual({ ok: true, value: { tiles: 'live', resume: null } });
    expect(parse('tiles=none')).toEqual({ ok: true, value: { tiles: 'none', resume: null } });
    expect(parse('tiles=map&epoch=9f1c2a7be04d5513&tiles_since=0')).toEqual({ ok: true, value: { tiles: 'map', resume: { epoch: '9f1c2a7be04d5513', since: 0 } } });
    expect(parse('epoch=a&tiles_since=9007199254740991')).toMatchObject({ ok: true, value: { resume: { since: 9007199254740991 } } });
  });

  it.each(['tiles=MAP', 'tiles=', 'epoch=a', 'tiles_since=1', 'epoch=a&tiles_since=', 'epoch=a&tiles_since=+1', 'epoch=a&tiles_since=1e3', 'epoch=a&tiles_since=9007199254740992', 'epoch=&tiles_since=1', `epoch=${'e'.repeat(65)}&tiles_since=1`, 'epoch=a/b&tiles_since=1'])(
    'refuses %s with a one-line reason',
    (query) => {
      const result = parse(query);
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.reason).not.toMatch(/\n/);
    },
  );
});
