// What a node does for each camera when it (re)joins Redis: compares the latest state it
// delivered to its clients ("mine") with the one Redis holds ("theirs") and decides, so
// that every node ends on the same state and no client sees a seq go backwards.
//
// Seqs from Redis are ordered by acceptance; states accepted here while Redis was
// unreachable carry provisional seqs, which mean nothing to other nodes, so those compete by
// producer timestamp instead. A state is republished (a fresh seq from the
// counter, which was first raised above every seq this node showed) whenever delivering
// the winner as it is would make this node's clients go back.
import type { ReadyFrame } from '../../protocol/ready-frame.js';

/** One step of a resync for one camera, as planResync decides it (resync.ts carries it out). */
export type ResyncAction =
  /** Redis's state is newer than what this node has: deliver it to the local clients. */
  | { type: 'deliver'; frame: ReadyFrame }
  /** Publish this state again with a fresh seq (and deliver it here with that seq). */
  | { type: 'republish'; frame: ReadyFrame };

/** What this node holds for one camera when it (re)joins Redis. */
export interface Mine {
  /** The newest state this node's clients have been sent (its seq is theirs to keep). */
  shown: ReadyFrame;
  /**
   * A state accepted here while Redis could not be reached, not settled yet. Kept apart from
   * `shown`: another node's state may have replaced it here with a higher seq while being
   * older (producer timestamp), as when that node resynchronised first.
   */
  accepted: ReadyFrame | null;
}

/**
 * The actions that bring this node (`mine`, by camera id) and Redis (`theirs`: the latest
 * state Redis holds per camera, seqs from its counters) to the same latest state, per camera:
 * only Redis has it: deliver Redis's; only this node: republish its own; a state accepted
 * here offline is newer (producer timestamp) than Redis's: republish it; else Redis's seq is
 * above the one this node's clients saw: deliver it; below: republish the newer of the two
 * (timestamp), so that no client sees seq go back; equal: nothing. Pure; at most one action
 * per camera, the cameras only Redis has first.
 */
export function planResync(mine: ReadonlyMap<string, Mine>, theirs: ReadonlyMap<string, ReadyFrame>): ResyncAction[] {
  const actions: ResyncAction[] = [];
  for (const [camera, stored] of theirs) {
    if (!mine.has(camera)) actions.push({ type: 'deliver', frame: stored });
  }
  for (const [camera, { shown, accepted }] of mine) {
    const stored = theirs.get(camera);
    if (stored === undefined) {
      // Redis lost it (a restart without persistence) or never had it: put it back.
      actions.push({ type: 'republish', frame: accepted !== null && accepted.timestamp > shown.timestamp ? accepted : shown });
    } else if (accepted !== null && accepted.timestamp > stored.timestamp) {
      actions.push({ type: 'republish', frame: accepted });
    } else if (stored.seq > shown.seq) {
      actions.push({ type: 'deliver', frame: stored });
    } else if (stored.seq < shown.seq) {
      // This node's clients saw a higher seq (provisional, or from before Redis lost its
      // data): the more recent of the two goes out again, above that seq.
      actions.push({ type: 'republish', frame: shown.timestamp > stored.timestamp ? shown : stored });
    }
    // Equal seqs: the same state; nothing to do.
  }
  return actions;
}
