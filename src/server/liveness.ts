// Keeping connections honest (PROTOCOL.md section 7): heartbeats and pings at every interval,
// silent connections terminated, and clients whose socket buffer stays above the hard limit
// past the grace period closed with 4000.
import { encodeFramedSet } from '../protocol/encode.js';
import { CLOSE_SLOW_CONSUMER } from '../protocol/messages.js';
import type { Session } from './session.js';
import type { ServiceCounters } from './counters.js';

export interface LivenessOptions {
  heartbeatMs: number;
  idleTimeoutMs: number;
  slowConsumerBytes: number;
  slowConsumerGraceMs: number;
}

/** How often buffers and silence are checked, between heartbeats. */
const SWEEP_MS = 250;

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

  start(): void {
    this.heartbeatTimer = setInterval(() => this.beat(), this.options.heartbeatMs);
    this.sweepTimer = setInterval(() => this.sweep(), Math.min(SWEEP_MS, this.options.heartbeatMs));
    this.heartbeatTimer.unref();
    this.sweepTimer.unref();
  }

  stop(): void {
    if (this.heartbeatTimer !== null) clearInterval(this.heartbeatTimer);
    if (this.sweepTimer !== null) clearInterval(this.sweepTimer);
    this.heartbeatTimer = this.sweepTimer = null;
  }

  /**
   * One heartbeat message, encoded once per frame format (legacy JSON mode: integer seconds,
   * PROTOCOL.md section 4), and a ping, to every connection.
   */
  beat(): void {
    const frames = encodeFramedSet({ type: 'heartbeat', timestamp: Date.now() });
    for (const session of this.sessions) {
      if (session.isClosing) continue;
      session.client.write(frames[session.client.encoding]);
      session.ws.ping();
    }
  }

  sweep(): void {
    const now = this.now();
    for (const session of this.sessions) {
      if (session.isClosing) continue;
      if (now - session.lastHeardAt > this.options.idleTimeoutMs) {
        this.counters.idleConnectionsTerminated++;
        session.terminate();
        continue;
      }
      const client = session.client;
      if (client.transport.writableLength <= this.options.slowConsumerBytes) {
        client.overLimitSince = 0;
      } else if (client.overLimitSince === 0) {
        client.overLimitSince = now;
      } else if (now - client.overLimitSince >= this.options.slowConsumerGraceMs) {
        this.counters.slowConsumersClosed++;
        this.onSlowConsumer(session, client.transport.writableLength);
        session.close(CLOSE_SLOW_CONSUMER, 'slow consumer');
      }
    }
  }
}
