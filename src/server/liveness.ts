// Keeping connections honest (docs/protocol.md section 7): heartbeats and pings at every interval,
// silent connections terminated, and slow consumers closed with 4000: at once when what they
// are owed passes --slow-consumer-bytes (the hub reports it), or when their socket has taken
// nothing of what they are owed for --slow-consumer-grace-ms.
import { encodeFramedSet } from '../protocol/encode.js';
import { CLOSE_SLOW_CONSUMER } from '../protocol/messages.js';
import type { Session } from './session.js';
import type { ServiceCounters } from './counters.js';

/** Liveness intervals and bounds (docs/protocol.md section 7), all in ms. */
export interface LivenessOptions {
  /** --heartbeat-ms: a heartbeat message and a ping to every connection this often. */
  heartbeatMs: number;
  /** --idle-timeout-ms: a connection heard nothing from (message, ping or pong) for longer is terminated. */
  idleTimeoutMs: number;
  /** How long a client's socket may take nothing of a non-empty backlog (ms). */
  slowConsumerGraceMs: number;
}

/** How often buffers and silence are checked, between heartbeats (ms). */
const SWEEP_MS = 250;

/**
 * Heartbeats, idle termination and slow-consumer closing for a set of sessions (see the
 * module comment). `onSlowConsumer` hears each slow consumer closed (for a log line); `now`
 * is the clock of silence and backlog waits (ms), Date.now by default.
 */
export class Liveness {
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private sweepTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly sessions: ReadonlySet<Session>,
    private readonly options: LivenessOptions,
    private readonly counters: ServiceCounters,
    private readonly onSlowConsumer: (session: Session, bufferedBytes: number) => void = () => undefined,
    private readonly now: () => number = Date.now,
  ) {}

  /** Starts the heartbeat and the sweep (every min(250 ms, heartbeatMs)); the timers do not keep the process alive. */
  start(): void {
    this.heartbeatTimer = setInterval(() => this.beat(), this.options.heartbeatMs);
    this.sweepTimer = setInterval(() => this.sweep(), Math.min(SWEEP_MS, this.options.heartbeatMs));
    this.heartbeatTimer.unref();
    this.sweepTimer.unref();
  }

  /** Stops both timers; connections are left as they are. */
  stop(): void {
    if (this.heartbeatTimer !== null) clearInterval(this.heartbeatTimer);
    if (this.sweepTimer !== null) clearInterval(this.sweepTimer);
    this.heartbeatTimer = this.sweepTimer = null;
  }

  /**
   * One heartbeat message, encoded once per frame format (legacy JSON mode: integer seconds,
   * docs/protocol.md section 4), and a ping, to every connection.
   */
  private beat(): void {
    const frames = encodeFramedSet({ type: 'heartbeat', timestamp: Date.now() });
    for (const session of this.sessions) {
      if (session.isClosing) continue;
      // Not queued behind a backlog (it would be stale there); the ping is ws's control
      // frame, written between whole frames and not at all once closing.
      session.client.sendIfCaughtUp(frames[session.client.encoding]);
      session.ws.ping();
    }
  }

  /**
   * Terminates sessions silent past idleTimeoutMs (counted) and closes with 4000 those whose
   * socket has taken nothing of their backlog for slowConsumerGraceMs.
   */
  private sweep(): void {
    const now = this.now();
    for (const session of this.sessions) {
      if (session.isClosing) continue;
      if (now - session.lastHeardAt > this.options.idleTimeoutMs) {
        this.counters.idleConnectionsTerminated++;
        session.terminate();
        continue;
      }
      const client = session.client;
      if (client.backlogBytes > 0 && now - client.waitingSince >= this.options.slowConsumerGraceMs) {
        this.closeSlowConsumer(session, client.backlogBytes + client.transport.writableLength);
      }
    }
  }

  /**
   * Closes a slow consumer with 4000 (docs/protocol.md section 7), counted and reported once; its
   * backlog is dropped first so that the Close is not queued behind it.
   * `heldBytes`: what it was owed (for the log line).
   */
  closeSlowConsumer(session: Session, heldBytes: number): void {
    // Already closing (either side began the closing handshake, or the connection is gone).
    if (session.isClosing || session.ws.readyState !== session.ws.OPEN) return;
    this.counters.slowConsumersClosed++;
    this.onSlowConsumer(session, heldBytes);
    session.close(CLOSE_SLOW_CONSUMER, 'slow consumer');
  }
}
