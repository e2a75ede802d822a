// The upgrade request: which encoding a client gets (docs/protocol.md section 2) and what it
// subscribes to (section 3).
import { describe, expect, it } from 'vitest';
import { chooseSubprotocol, clampMaxHz, normalizeCameras, parseSubscriptionQuery } from '../../src/protocol/negotiate.js';

const SERVER_MAX_HZ = 60;

function query(text: string) {
  return parseSubscriptionQuery(new URLSearchParams(text), SERVER_MAX_HZ);
}

describe('chooseSubprotocol', () => {
  it.each([
    ['no header', undefined],
    ['an empty header', ''],
    ['a blank header', '   '],
  ])('selects legacy JSON mode (no subprotocol) for %s', (_name, offered) => {
    expect(chooseSubprotocol(offered)).toEqual({ ok: true, value: { subprotocol: null, encoding: 'json' } });
  });

  it('selects wirecam.v1.json', () => {
    expect(chooseSubprotocol('wirecam.v1.json')).toEqual({ ok: true, value: { subprotocol: 'wirecam.v1.json', encoding: 'json' } });
  });

  it('selects wirecam.v1.msgpack', () => {
    expect(chooseSubprotocol('wirecam.v1.msgpack')).toEqual({ ok: true, value: { subprotocol: 'wirecam.v1.msgpack', encoding: 'msgpack' } });
  });

  it.each([
    ['foo, wirecam.v1.msgpack, wirecam.v1.json', 'wirecam.v1.msgpack', 'msgpack'],
    ['wirecam.v1.json, wirecam.v1.msgpack', 'wirecam.v1.json', 'json'],
    ['wirecam.v1.msgpack,wirecam.v1.json', 'wirecam.v1.msgpack', 'msgpack'],
    ['  bar ,  wirecam.v1.json  ', 'wirecam.v1.json', 'json'],
  ])('picks the first supported value in the client order of "%s"', (offered, subprotocol, encoding) => {
    expect(chooseSubprotocol(offered)).toEqual({ ok: true, value: { subprotocol, encoding } });
  });

  it.each([['foo'], ['foo, bar'], ['wirecam.v2.json'], ['WIRECAM.V1.JSON'], ['wirecam.v1']])(
    'refuses only unknown values "%s" with a reason naming both supported subprotocols',
    (offered) => {
      const result = chooseSubprotocol(offered);
      expect(result.ok).toBe(false);
      if (!result.ok) {
        expect(result.reason).toContain('wirecam.v1.json');
        expect(result.reason).toContain('wirecam.v1.msgpack');
      }
    },
  );
});

describe('parseSubscriptionQuery', () => {
  it('defaults to camera main at the server maximum rate', () => {
    expect(query('')).toEqual({ ok: true, value: { cameras: ['main'], maxHz: SERVER_MAX_HZ } });
  });

  it('refuses an empty camera parameter (no parameter is the default)', () => {
    expect(query('camera=')).toMatchObject({ ok: false });
  });

  it('ignores parameters it does not know, such as the token', () => {
    expect(query('token=secret&foo=bar')).toEqual({ ok: true, value: { cameras: ['main'], maxHz: SERVER_MAX_HZ } });
  });

  it('keeps a list of cameras in the order given', () => {
    expect(query('camera=side,main,top:1')).toMatchObject({ ok: true, value: { cameras: ['side', 'main', 'top:1'] } });
  });

  it('reads "*" as every camera', () => {
    expect(query('camera=*')).toMatchObject({ ok: true, value: { cameras: ['*'] } });
  });

  it('reduces a list that contains "*" to ["*"]', () => {
    expect(query('camera=main,*,side')).toMatchObject({ ok: true, value: { cameras: ['*'] } });
  });

  it('removes duplicate cameras', () => {
    expect(query('camera=main,side,main,side')).toMatchObject({ ok: true, value: { cameras: ['main', 'side'] } });
  });

  it('decodes percent-encoded commas and ids', () => {
    expect(query('camera=main%2Cside%3A2')).toMatchObject({ ok: true, value: { cameras: ['main', 'side:2'] } });
  });

  it.each([
    ['a space', 'camera=bad%20id'],
    ['an exclamation mark', 'camera=bad!'],
    ['an empty item in a list', 'camera=main,,side'],
    ['a trailing comma', 'camera=main,'],
    ['65 characters', `camera=${'c'.repeat(65)}`],
    ['a non-ASCII letter', 'camera=kamera-%C3%BC'],
  ])('refuses a camera id with %s', (_name, text) => {
    const result = query(text);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toContain('camera');
  });

  it.each([
    ['30', 30],
    ['12.5', 12.5],
    ['1', 1],
    ['60', 60],
    ['0.5', 1],
    ['0', 1],
    ['-10', 1],
    ['61', 60],
    ['100000', 60],
  ])('clamps max_hz=%s into 1..max, giving %d', (text, expected) => {
    expect(query(`max_hz=${text}`)).toMatchObject({ ok: true, value: { maxHz: expected } });
  });

  it('clamps to the server maximum it is given, not a fixed 60', () => {
    expect(parseSubscriptionQuery(new URLSearchParams('max_hz=500'), 240)).toMatchObject({ ok: true, value: { maxHz: 240 } });
    expect(parseSubscriptionQuery(new URLSearchParams(''), 240)).toMatchObject({ ok: true, value: { maxHz: 240 } });
  });

  it.each([['abc'], [''], ['%20'], ['NaN'], ['Infinity'], ['12hz'], ['1,2']])('refuses max_hz="%s" as not a number', (text) => {
    const result = query(`camera=main&max_hz=${text}`);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toContain('max_hz');
  });
});

describe('helpers', () => {
  it('normalizeCameras keeps first occurrences and collapses to "*"', () => {
    expect(normalizeCameras(['b', 'a', 'b'])).toEqual(['b', 'a']);
    expect(normalizeCameras(['a', '*'])).toEqual(['*']);
  });

  it('clampMaxHz uses the server maximum when nothing was asked', () => {
    expect(clampMaxHz(null, 60)).toBe(60);
    expect(clampMaxHz(0.2, 60)).toBe(1);
    expect(clampMaxHz(7.5, 60)).toBe(7.5);
  });
});
