// A small typed event emitter with no dependency, so the client runs unchanged in browsers
// and in Node (node:events is not available in a browser).
/** A listener of one event; receives the event's payload. */
export type Listener<T> = (payload: T) => void;

/**
 * An event emitter whose events and payload types are the fields of `Events`. Listeners run
 * synchronously, in the order added; an exception in one propagates to the emitter's caller.
 */
export class TypedEvents<Events extends object> {
  private readonly listeners = new Map<keyof Events, Set<Listener<never>>>();

  /** Returns a function that removes the listener. */
  on<K extends keyof Events>(event: K, listener: Listener<Events[K]>): () => void {
    let set = this.listeners.get(event);
    if (set === undefined) {
      set = new Set();
      this.listeners.set(event, set);
    }
    set.add(listener as Listener<never>);
    return () => this.off(event, listener);
  }

  /** Removes a listener added with `on`; nothing happens when it is not there. */
  off<K extends keyof Events>(event: K, listener: Listener<Events[K]>): void {
    this.listeners.get(event)?.delete(listener as Listener<never>);
  }

  /** Like `on`, but the listener is removed before its first call. Returns the remover. */
  once<K extends keyof Events>(event: K, listener: Listener<Events[K]>): () => void {
    const remove = this.on(event, (payload) => {
      remove();
      listener(payload);
    });
    return remove;
  }

  /** The next occurrence of an event, as a promise. */
  next<K extends keyof Events>(event: K): Promise<Events[K]> {
    return new Promise((resolve) => this.once(event, resolve));
  }

  protected emit<K extends keyof Events>(event: K, payload: Events[K]): void {
    const set = this.listeners.get(event);
    if (set === undefined) return;
    // A copy: a listener may remove itself (once) while we iterate.
    for (const listener of [...set]) (listener as Listener<Events[K]>)(payload);
  }
}
