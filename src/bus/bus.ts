// Where accepted updates meet: every source publishes its ready frames on the bus, and the
// stream graph of each node reads from it. In one process the bus is a pass-through; with
// several nodes it is Redis (one channel per camera, the latest state kept for snapshots),
// behind the same interface, the way Socket.IO's in-memory and Redis adapters are.
import { Subject, type Observable } from 'rxjs';
import type { ReadyFrame } from '../protocol/ready-frame.js';

/** For /healthz: `degraded` while the bus cannot reach the other nodes (the node still serves). */
export type BusState = 'ok' | 'degraded';

/**
 * Where this node's accepted updates meet every node's, the way Centrifuge's Broker is.
 *
 * - Ordering: `frames` emits each camera's states in increasing `seq`, and all tiles in
 *   increasing tile `seq` (docs/protocol.md section 6); batches from `publish` keep their order.
 *   Frames of different cameras have no order between them. A camera state that is not
 *   newer than the last one a node delivered is dropped (by the bus, the graph and the hub).
 * - Who assigns `seq`: in one process, the store (a camera row's or tile row's id; the store
 *   tail publishes frames that already carry it). With Redis, the publish script assigns it
 *   from a counter per camera (one for tiles), the same on every node (redis/scripts.ts).
 * - During an outage (Redis unreachable): `state()` is `degraded`, this node keeps serving
 *   its own clients with provisional seqs (the last seen for the camera, plus one) and
 *   remembers what it accepted; once Redis answers again it resynchronises (redis/resync.ts)
 *   so that every node ends on the same latest state, republishing what it accepted and
 *   catching up on the tiles it missed. The in-process bus has no outage.
 * - `snapshot` is called once, before `frames` is used: it returns the latest state of each
 *   camera (this node's `local` ones from its store, merged with the other nodes').
 */
export interface Bus {
  /** Frames every node must deliver, in the order above. */
  readonly frames: Observable<readonly ReadyFrame[]>;
  /** Frames accepted on this node (store rows, producers' updates), encoded once by the store worker. */
  publish(frames: readonly ReadyFrame[]): void;
  /** The latest state of each camera, given this node's own from its store. */
  snapshot(local: readonly ReadyFrame[]): Promise<readonly ReadyFrame[]>;
  /** For /healthz: `ok`, or `degraded` with a one-line reason. */
  state(): { state: BusState; detail: string | null };
  /** Stops: waits (bounded) for publishing in progress, closes connections, completes `frames`. */
  stop(): Promise<void>;
}

/**
 * The bus of a single node: a pass-through, in publication order. `seq` is the store's row id
 * (camera_updates.id, tile_updates.id), already in the frames; nothing is buffered (a batch
 * reaches the subscribers of `frames` synchronously, inside `publish`).
 */
export class InProcessBus implements Bus {
  private readonly subject = new Subject<readonly ReadyFrame[]>();
  readonly frames: Observable<readonly ReadyFrame[]> = this.subject.asObservable();

  /** Emits `frames` on `frames` as they are, at once (same batch, same order). */
  publish(frames: readonly ReadyFrame[]): void {
    this.subject.next(frames);
  }

  /** `local` as it is: with one node, the store's latest states are the latest there are. */
  async snapshot(local: readonly ReadyFrame[]): Promise<readonly ReadyFrame[]> {
    return local;
  }

  /** Always `ok` (no connection to lose). */
  state() {
    return { state: 'ok' as const, detail: null };
  }

  /** Completes `frames`; a later `publish` emits nothing. */
  async stop(): Promise<void> {
    this.subject.complete();
  }
}
