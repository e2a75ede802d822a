// Whether a Redis connection still answers. A path that stops delivering without FIN or RST
// (a NAT or firewall that forgot the flow, a frozen peer) leaves the socket open: a
// subscriber then just receives nothing, and TCP keepalive, with the system's defaults, takes
// about two hours to notice. So each connection is asked a PING at a fixed interval, and one
// not answered by its deadline declares the connection dead. PING is one of the commands
// Redis accepts in subscribed mode (https://redis.io/docs/latest/commands/ping/: there it
// replies with a "pong" message), so the subscriber is checked like the command connection.

/** Between two PINGs on one connection, in ms. */
export const LIVENESS_INTERVAL_MS = 1000;
/** A PING not answered in this time, in ms, declares its connection dead. */
export const LIVENESS_TIMEOUT_MS = 2000;

/** The part of an ioredis connection the check uses. */
export interface LivenessTarget {
  /** ioredis's connection status; only a 'ready' connection is asked. */
  readonly status: string;
  /** The socket of the current connection: a reply only counts for the socket it was asked on. */
  readonly stream: unknown;
  /** PING; a ReplyError rejection (LOADING, NOAUTH…) still counts as an answer. */
  ping(): Promise<unknown>;
}

/** Timers the check runs on: the real ones by default, a virtual clock in tests. */
export interface LivenessTimers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  /**
   * Runs `callback` once the input already received has been read (setImmediate): a reply
   * that arrived while the event loop was busy past the deadline still counts.
   */
  afterInput(callback: () => void): void;
}

/** How often to ask, how long to wait, and whom to tell (ConnectionLiveness). */
export interface LivenessOptions {
  /** Between two PINGs, in ms (LIVENESS_INTERVAL_MS by default). */
  intervalMs?: number;
  /** Deadline of a PING's reply, in ms (LIVENESS_TIMEOUT_MS by default). */
  timeoutMs?: number;
  /** Called once per unanswered PING with the reason, e.g. "no reply to PING in 2000 ms". */
  onDead(reason: string): void;
  /** The real timers (unref'd, so they never keep the process alive) by default. */
  timers?: LivenessTimers;
}

const realTimers: LivenessTimers = {
  setTimeout: (callback, ms) => setTimeout(callback, ms).unref(),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
  afterInput: (callback) => setImmediate(callback),
};

/**
 * Asks one connection a PING `intervalMs` after the last reply (or missed deadline) while it
 * is ready, and calls `onDead` when a reply has not come `timeoutMs` after the question: a
 * path that stops delivering is noticed within `intervalMs + timeoutMs`. What to do then
 * (drop the socket, report it) is the caller's. A connection that is not ready is left to
 * ioredis's connect and command timeouts; a reply on a socket that has since been replaced
 * decides nothing. At most one PING is outstanding per connection.
 */
export class ConnectionLiveness {
  private readonly intervalMs: number;
  private readonly timeoutMs: number;
  private readonly timers: LivenessTimers;
  private timer: unknown = null;
  private running = false;
  /** Counts the questions: a late reply to an earlier one is ignored. */
  private asked = 0;

  constructor(
    private readonly target: LivenessTarget,
    private readonly options: LivenessOptions,
  ) {
    this.intervalMs = options.intervalMs ?? LIVENESS_INTERVAL_MS;
    this.timeoutMs = options.timeoutMs ?? LIVENESS_TIMEOUT_MS;
    this.timers = options.timers ?? realTimers;
  }

  /** Starts asking; a second call does nothing. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.next();
  }

  /** Stops asking; an outstanding PING then decides nothing. */
  stop(): void {
    this.running = false;
    this.asked++;
    this.cancel();
  }

  private cancel(): void {
    if (this.timer !== null) this.timers.clearTimeout(this.timer);
    this.timer = null;
  }

  private next(): void {
    this.cancel();
    this.timer = this.timers.setTimeout(() => {
      this.timer = null;
      if (this.running) this.ask();
    }, this.intervalMs);
  }

  private ask(): void {
    if (this.target.status !== 'ready') {
      this.next();
      return;
    }
    const question = ++this.asked;
    const stream = this.target.stream;
    const answered = () => {
      if (question !== this.asked || !this.running) return;
      this.asked++;
      this.next();
    };
    this.target.ping().then(answered, (error: unknown) => {
      // An error reply (LOADING, NOAUTH…) is an answer; a timeout or a closed connection is not.
      if ((error as { name?: unknown } | null)?.name === 'ReplyError') answered();
    });
    this.timer = this.timers.setTimeout(() => {
      this.timer = null;
      this.timers.afterInput(() => {
        if (question !== this.asked || !this.running) return;
        this.asked++;
        if (this.target.stream === stream && this.target.status === 'ready') {
          this.options.onDead(`no reply to PING in ${this.timeoutMs} ms`);
        }
        this.next();
      });
    }, this.timeoutMs);
  }
}
