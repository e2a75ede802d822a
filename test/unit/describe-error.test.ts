import { describe, expect, it } from 'vitest';
import { describeError } from '../../src/util/describe-error.js';

describe('describeError', () => {
  it('uses an Error message and adds a code it does not name', () => {
    const error = Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' });
    expect(describeError(error)).toBe('SQLITE_BUSY: database is locked');
    expect(describeError(Object.assign(new Error('ENOENT: no such file'), { code: 'ENOENT' }))).toBe('ENOENT: no such file');
  });

  it('describes error-like objects (errors that crossed a thread) by their message, never [object Object]', () => {
    expect(describeError({ message: 'database is locked', code: 'SQLITE_BUSY', name: 'SqliteError' })).toBe('SQLITE_BUSY: database is locked');
    expect(describeError({ code: 'EACCES' })).toBe('EACCES');
    expect(describeError({ reason: 'x' })).toBe('{"reason":"x"}');
    expect(describeError({})).toBe('unknown error');
    expect(describeError('line one\n  line two')).toBe('line one line two');
    expect(describeError(null)).toBe('null');
    expect(describeError(42)).toBe('42');
  });
});
