// What a client or producer may send, at the edges the first users found: a timestamp with a
// fraction, text that is not well-formed UTF-16, and the query string of the upgrade
// (docs/protocol.md sections 3 and 5).
import { describe, expect, it } from 'vitest';
import { encode } from '@msgpack/msgpack';
import { decodeClientMessage } from '../../src/protocol/decode.js';
import { parseSubscriptionQuery } from '../../src/protocol/negotiate.js';
import { checkCamera, checkTile, excerpt, isWellFormedText } from '../../src/protocol/validate.js';
import { MAX_CAMERAS_PER_SUBSCRIPTION } from '../../src/protocol/messages.js';
import { parseLine } from '../../src/ingest/line-update.js';

const NOW = 1_795_000_000_000;
const LONE_HIGH = '\ud800';
const LONE_LOW = '\udc00';

function json(value: unknown) {
  return decodeClientMessage(Buffer.from(JSON.stringify(value), 'utf8'), false, 'json', NOW);
}
function msgpack(value: unknown) {
  return decodeClientMessage(Buffer.from(encode(value)), true, 'msgpack', NOW);
}
function query(text: string) {
  return parseSubscriptionQuery(new URLSearchParams(text), 60);
}

describe('a producer timestamp with a fraction of a millisecond', () => {
  const fractions = [1.5, 1_795_000_000_123.25, 0.001];
  it.each(fractions)('refuses %d in a camera_update or tile_update, in both encodings, as bad_message', (timestamp) => {
    for (const decode of [json, msgpack]) {
      expect(decode({ type: 'camera_update', x: 1, y: 2, zoom: 1, timestamp })).toMatchObject({ ok: false, code: 'bad_message' });
      expect(decode({ type: 'tile_update', x: 1, y: 2, brick: 'b', timestamp })).toMatchObject({ ok: false, code: 'bad_message' });
    }
  });

  it('refuses it in a --source-cmd line, JSON or key=value', () => {
    expect(parseLine('camera=main x=1 y=2 zoom=1 timestamp=1.5', NOW)).toMatchObject({ kind: 'invalid', reason: 'bad_timestamp' });
    expect(parseLine('{"type":"tile_update","x":1,"y":2,"brick":"b","timestamp":1795000000000.5}', NOW)).toMatchObject({
      kind: 'invalid',
      reason: 'bad_timestamp',
    });
  });

  it('refuses integers beyond 2^53 - 1 and below 0, and keeps whole values, 1e3 written as an exponent included', () => {
    for (const timestamp of [2 ** 53, -1, -0.5]) {
      expect(json({ type: 'camera_update', x: 1, y: 2, zoom: 1, timestamp })).toMatchObject({ ok: false, code: 'bad_message' });
    }
    const whole = decodeClientMessage(Buffer.from('{"type":"camera_update","x":1,"y":2,"zoom":1,"timestamp":1e3}'), false, 'json', NOW);
    expect(whole).toMatchObject({ ok: true, message: { value: { timestamp: 1000 } } });
    expect(json({ type: 'camera_update', x: 1, y: 2, zoom: 1, timestamp: 2 ** 53 - 1 })).toMatchObject({ ok: true });
  });

  it('is truncated in a store row, which another program wrote (README: a REAL ts from a float clock)', () => {
    const fields = { camera: 'main', x: 1, y: 2, zoom: 1, timestamp: 1_795_000_000_123.75 };
    expect(checkCamera(fields, null, 'truncate')).toMatchObject({ ok: true, value: { timestamp: 1_795_000_000_123 } });
    expect(checkTile({ x: 1, y: 2, brick: 'b', timestamp: 7.9 }, null, 'truncate')).toMatchObject({ ok: true, value: { timestamp: 7 } });
    expect(checkCamera(fields, null)).toMatchObject({ ok: false, reason: 'bad_timestamp' });
  });
});

describe('text that is not well-formed UTF-16', () => {
  it.each([
    ['a lone high surrogate', LONE_HIGH],
    ['a lone low surrogate', LONE_LOW],
    ['a high surrogate at the end', `stone${LONE_HIGH}`],
    ['a low surrogate before a high one', `${LONE_LOW}${LONE_HIGH}`],
  ])('refuses a brick with %s as bad_message, and a --source-cmd line with it', (_name, brick) => {
    expect(isWellFormedText(brick)).toBe(false);
    expect(json({ type: 'tile_update', x: 1, y: 2, brick })).toMatchObject({ ok: false, code: 'bad_message' });
    expect(parseLine(JSON.stringify({ type: 'tile_update', x: 1, y: 2, brick }), NOW)).toMatchObject({ kind: 'invalid', reason: 'bad_brick' });
    expect(parseLine(`type=tile_update x=1 y=2 brick=${JSON.stringify(brick)}`, NOW)).toMatchObject({ kind: 'invalid', reason: 'bad_brick' });
  });

  it('keeps a brick with a surrogate pair (a character outside the BMP) and U+FFFD', () => {
    for (const brick of ['\ud83e\uddf1 brick', '\ufffd']) {
      expect(json({ type: 'tile_update', x: 1, y: 2, brick })).toMatchObject({ ok: true, message: { value: { brick } } });
    }
  });

  it('never quotes a client text in an error with a half of a surrogate pair', () => {
    const type = `${'t'.repeat(39)}\ud83e\uddf1`;
    const answer = json({ type });
    expect(answer.ok).toBe(false);
    if (!answer.ok) expect(isWellFormedText(answer.message)).toBe(true);
    expect(isWellFormedText(excerpt(type, 40))).toBe(true);
    expect(excerpt(LONE_HIGH, 10)).toBe('\ufffd');
    const refused = query(`camera=${'c'.repeat(69)}%F0%9F%A7%B1`);
    expect(refused.ok).toBe(false);
    if (!refused.ok) expect(isWellFormedText(refused.reason)).toBe(true);
  });
});

describe('the query string of the upgrade', () => {
  it.each([['0x10'], ['0b1'], ['0o7'], ['1e1'], ['1E1'], ['+30'], [' 30'], ['30 '], ['.5'], ['5.'], ['Infinity'], ['-Infinity'], ['1_0'], ['３０']])(
    'refuses max_hz=%s, which is not a decimal number',
    (text) => {
      const result = query(`max_hz=${encodeURIComponent(text)}`);
      expect(result).toMatchObject({ ok: false });
      if (!result.ok) expect(result.reason).toContain('max_hz');
    },
  );

  it.each([
    ['30', 30],
    ['012', 12],
    ['7.25', 7.25],
    ['-3', 1],
    ['0.5', 1],
    ['999999999999999', 60],
  ])('takes max_hz=%s as a decimal number, clamped: %d', (text, expected) => {
    expect(query(`max_hz=${text}`)).toMatchObject({ ok: true, value: { maxHz: expected } });
  });

  it('takes at most as many camera ids as a subscribe message, and counts them as given', () => {
    const ids = (n: number) => Array.from({ length: n }, (_, i) => `c${i}`).join(',');
    expect(query(`camera=${ids(MAX_CAMERAS_PER_SUBSCRIPTION)}`)).toMatchObject({ ok: true });
    const over = query(`camera=${ids(MAX_CAMERAS_PER_SUBSCRIPTION + 1)}`);
    expect(over).toMatchObject({ ok: false });
    if (!over.ok) expect(over.reason).toContain(String(MAX_CAMERAS_PER_SUBSCRIPTION));
    expect(query(`camera=${Array(MAX_CAMERAS_PER_SUBSCRIPTION + 1).fill('main').join(',')}`)).toMatchObject({ ok: false });
    const message = json({ type: 'subscribe', cameras: Array.from({ length: MAX_CAMERAS_PER_SUBSCRIPTION + 1 }, (_, i) => `c${i}`) });
    expect(message).toMatchObject({ ok: false, code: 'bad_message' });
  });

  it('refuses an empty camera parameter like an empty item of a list; no parameter means main', () => {
    expect(query('camera=')).toMatchObject({ ok: false });
    expect(query('camera=a,,b')).toMatchObject({ ok: false });
    expect(query('')).toMatchObject({ ok: true, value: { cameras: ['main'] } });
  });
});
