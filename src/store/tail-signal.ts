// Slots of the shared Int32Array through which the main thread wakes or stops the tail task
// that waits inside a worker (Atomics.wait / Atomics.notify).
export const TAIL_NUDGE = 0;
export const TAIL_STOP = 1;

export function createTailSignal(): Int32Array {
  return new Int32Array(new SharedArrayBuffer(2 * Int32Array.BYTES_PER_ELEMENT));
}

/** A producer's write was committed: read now rather than at the next poll. */
export function nudgeTail(signal: Int32Array): void {
  Atomics.add(signal, TAIL_NUDGE, 1);
  Atomics.notify(signal, TAIL_NUDGE);
}

export function stopTail(signal: Int32Array): void {
  Atomics.store(signal, TAIL_STOP, 1);
  Atomics.add(signal, TAIL_NUDGE, 1);
  Atomics.notify(signal, TAIL_NUDGE);
}
