// What one client is owed while its socket is backpressured: whole frames, in order, copied
// into chunks of a fixed size that this client owns. Memory is the bytes owed rounded up to a
// chunk (no per-frame objects, no store batches kept alive by views into them), each chunk
// leaves in one socket write, and dropping the lot is one assignment.

/** Size of a backlog chunk in bytes; a frame larger than this gets a chunk of its own. */
const BACKLOG_CHUNK_BYTES = 64 * 1024;

/** A run of whole frames, written to the socket as one buffer. */
export interface BacklogChunk {
  /** The frames' bytes (a view of the filled part). */
  readonly bytes: Buffer;
  /** How many of them are camera or tile messages (counted as sent once written). */
  readonly messages: number;
  /** The bytes of those messages. */
  readonly messageBytes: number;
}

interface OpenChunk {
  data: Buffer;
  length: number;
  messages: number;
  messageBytes: number;
}

/**
 * The frames one client is owed, in order, as fixed-size chunks (BACKLOG_CHUNK_BYTES, 64 KiB)
 * it owns: `push` copies a whole frame in, `shift` hands out the oldest chunk for one socket
 * write. Unbounded itself: its owner (FanoutClient, `BacklogLimit.maxBytes`) checks `bytes`
 * before each push.
 */
export class Backlog {
  private chunks: OpenChunk[] = [];
  /** Bytes held, all chunks together (the frames' lengths, not the chunks' capacity). */
  bytes = 0;

  /**
   * Appends a copy of one whole frame (never split across chunks, so any chunk boundary is a
   * frame boundary: RFC 6455 section 5.4 lets control frames go between them).
   * `message`: a camera or tile message, counted when written.
   */
  push(frame: Buffer, message: boolean): void {
    let tail = this.chunks.at(-1);
    if (tail === undefined || tail.data.length - tail.length < frame.length) {
      tail = { data: Buffer.allocUnsafeSlow(Math.max(BACKLOG_CHUNK_BYTES, frame.length)), length: 0, messages: 0, messageBytes: 0 };
      this.chunks.push(tail);
    }
    frame.copy(tail.data, tail.length);
    tail.length += frame.length;
    if (message) {
      tail.messages++;
      tail.messageBytes += frame.length;
    }
    this.bytes += frame.length;
  }

  /** Removes and returns the oldest chunk (undefined when empty); nothing is appended to it after. */
  shift(): BacklogChunk | undefined {
    const chunk = this.chunks.shift();
    if (chunk === undefined) return undefined;
    this.bytes -= chunk.length;
    return { bytes: chunk.data.subarray(0, chunk.length), messages: chunk.messages, messageBytes: chunk.messageBytes };
  }

  /** Drops everything held, in O(1). */
  clear(): void {
    this.chunks = [];
    this.bytes = 0;
  }
}
