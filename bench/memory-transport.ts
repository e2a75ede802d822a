// An in-memory socket for the fanout micro benchmark: counts what it is given and keeps
// nothing, so the measurement is the hub's loop and not a kernel's.
import type { Transport } from '../src/fanout/client.js';

export class MemoryTransport implements Transport {
  bytes = 0;
  writes = 0;
  readonly writableLength = 0;
  readonly writableNeedDrain = false;
  readonly destroyed = false;
  readonly open = true;

  write(data: Buffer): boolean {
    this.bytes += data.length;
    this.writes++;
    return true;
  }

  cork(): void {}
  uncork(): void {}
  once(): this {
    return this;
  }
}
