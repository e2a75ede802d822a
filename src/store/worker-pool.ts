// The pool of store workers and typed calls into it. Tailing occupies one worker while it
// waits for a commit; writes and retention run on another, so neither waits for the other.
import { Piscina } from 'piscina';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Cursor } from './reader.js';
import type { RetentionPolicy } from './retention.js';
import type { UpdateInput } from '../protocol/messages.js';
import type { PruneResult, SnapshotResult, StoreTask, TailResult, WriteResult } from '../../workers/store-worker.js';

export type { SnapshotResult, TailResult };

/** The compiled worker; from sources (tests) the build output is used. */
function workerFile(): string {
  const sibling = fileURLToPath(new URL('../../workers/store-worker.js', import.meta.url));
  if (existsSync(sibling)) return sibling;
  return fileURLToPath(new URL('../../dist/workers/store-worker.js', import.meta.url));
}

export interface TailRequest {
  cursor: Cursor;
  limit: number;
  readNow: boolean;
  waitMs: number;
  pollMs: number;
  signal: Int32Array;
}

export class StorePool {
  private readonly pool: Piscina;

  constructor(private readonly path: string) {
    this.pool = new Piscina({ filename: workerFile(), minThreads: 2, maxThreads: 2, idleTimeout: Infinity });
  }

  get queueSize(): number {
    return this.pool.queueSize;
  }

  get utilization(): number {
    return this.pool.utilization;
  }

  private run<T>(task: StoreTask): Promise<T> {
    return this.pool.run(task) as Promise<T>;
  }

  snapshot(): Promise<SnapshotResult> {
    return this.run({ op: 'snapshot', path: this.path });
  }

  tail(request: TailRequest): Promise<TailResult> {
    return this.run({ op: 'tail', path: this.path, ...request });
  }

  write(updates: UpdateInput[]): Promise<WriteResult> {
    return this.run({ op: 'write', path: this.path, updates });
  }

  prune(policy: RetentionPolicy): Promise<PruneResult> {
    return this.run({ op: 'prune', path: this.path, policy, now: Date.now() });
  }

  async close(): Promise<void> {
    await this.pool.destroy();
  }
}
