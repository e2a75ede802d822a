// What this node has shown its clients through the bus: the newest state of each camera, the
// states accepted while Redis was away, and the order of tiles. Publishing, the subscription
// and the resync all read and update it; it is the bus's one latest-state map.
import type { ReadyFrame } from '../../protocol/ready-frame.js';
import { TileSequencer } from './tile-sequencer.js';

/** The latest-state maps of one Redis bus (see the file's comment). */
export class Shown {
  /** The newest state of each camera this node has delivered (or put in its snapshot). */
  readonly latest = new Map<string, ReadyFrame>();
  /** The newest state of each camera accepted here while Redis could not be reached. */
  readonly acceptedOffline = new Map<string, ReadyFrame>();
  /** Tiles in Redis's order (tile-sequencer.ts). */
  readonly tiles = new TileSequencer();

  /** A camera state goes on (appended to `out`) only if newer than the one this node has. */
  keepIfNewer(frame: ReadyFrame, out: ReadyFrame[]): boolean {
    const known = this.latest.get(frame.camera);
    if (known !== undefined && known.seq >= frame.seq) return false;
    this.latest.set(frame.camera, frame);
    out.push(frame);
    return true;
  }
}
