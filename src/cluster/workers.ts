// How many fanout processes `--workers` asks for, and which one this process is.
import { availableParallelism } from 'node:os';
import { ConfigError } from '../config.js';

/** Most fanout processes one service runs. */
export const MAX_WORKERS = 256;

/** The environment variable through which the primary tells a fanout process its slot (1..N). */
export const SLOT_VARIABLE = 'WIRECAM_FANOUT_SLOT';

/**
 * The count `--workers` names: `auto` is the number of CPUs this process may use
 * (os.availableParallelism), capped at MAX_WORKERS; otherwise the integer, 1 to MAX_WORKERS.
 * `where` names the setting in the error (`--workers`, `WIRECAM_WORKERS`, a file's key).
 * Throws ConfigError past the bound.
 */
export function fanoutCount(value: string, where: string, cpus: () => number = availableParallelism): number {
  if (value === 'auto') return Math.max(1, Math.min(MAX_WORKERS, cpus()));
  const count = Number(value);
  if (!Number.isInteger(count) || count < 1 || count > MAX_WORKERS) {
    throw new ConfigError(`${where}: expected a count of processes from 1 to ${MAX_WORKERS}, or auto, got ${JSON.stringify(value)}`);
  }
  return count;
}

/** This process's slot when a primary started it (1..N), or null when it runs alone. */
export function fanoutSlot(env: NodeJS.ProcessEnv = process.env): number | null {
  const slot = Number(env[SLOT_VARIABLE]);
  return Number.isInteger(slot) && slot >= 1 ? slot : null;
}
