// Where accepted updates meet: every source publishes its ready frames on the bus, and the
// stream graph of each node reads from it. In one process the bus is a pass-through; with
// several nodes it is Redis (one channel per camera, the latest state kept for snapshots),
// behind the same interface, the way Socket.IO's in-memory and Redis adapters are.
import { Subject, type Observable } from 'rxjs';
import type { ReadyFrame } from '../protocol/ready-frame.js';

export type BusState = 'ok' | 'degraded';

export interface Bus {
  /** Frames every node must deliver, in publication order. */
  readonly frames: Observable<readonly ReadyFrame[]>;
  /** Frames accepted on this node (store rows, producers' updates). */
  publish(frames: readonly ReadyFrame[]): void;
  /** The latest state of each camera, given this node's own from its store. */
  snapshot(local: readonly ReadyFrame[]): Promise<readonly ReadyFrame[]>;
  state(): { state: BusState; detail: string | null };
  stop(): Promise<void>;
}

export class InProcessBus implements Bus {
  private readonly subject = new Subject<readonly ReadyFrame[]>();
  readonly frames: Observable<readonly ReadyFrame[]> = this.subject.asObservable();

  publish(frames: readonly ReadyFrame[]): void {
    this.subject.next(frames);
  }

  async snapshot(local: readonly ReadyFrame[]): Promise<readonly ReadyFrame[]> {
    return local;
  }

  state() {
    return { state: 'ok' as const, detail: null };
  }

  async stop(): Promise<void> {
    this.subject.complete();
  }
}
