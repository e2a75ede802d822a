// Which producer connection wrote which row, so its own update is not echoed back to it
// (docs/protocol.md section 5). Entries live from the write's result until the tail reads the row.
import type { FrameKind } from '../protocol/ready-frame.js';

/**
 * Row id (seq) -> producer connection id (Session.id), one map per table: the producer writer
 * records each row it committed, the store tail takes it when it reads that row. A row
 * another process wrote has no entry.
 */
export class Origins {
  private readonly camera = new Map<number, number>();
  private readonly tile = new Map<number, number>();

  /** Producer `clientId` wrote the row of table `kind` with id `seq` (just committed). */
  record(kind: FrameKind, seq: number, clientId: number): void {
    (kind === 'camera' ? this.camera : this.tile).set(seq, clientId);
  }

  /** The producer of a row (and forgets it), or 0 when another process wrote it. */
  take(kind: FrameKind, seq: number): number {
    const map = kind === 'camera' ? this.camera : this.tile;
    if (map.size === 0) return 0;
    const origin = map.get(seq);
    if (origin === undefined) return 0;
    map.delete(seq);
    return origin;
  }
}
