// The one-line message of the ConfigError a call throws, for tests of settings.
import { expect } from 'vitest';
import { ConfigError } from '../../src/config.js';

/** Runs `fn`, which must throw a ConfigError, and returns its message; fails the test otherwise. */
export function configErrorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected a ConfigError');
}
