// Runs the micro suites in a process of their own (node --expose-gc --max-semi-space-size)
// and prints their results as one JSON object.
import { fanoutAllocation, microSuites, type AllocationResult } from './micro.js';

export interface AllocationReport extends AllocationResult {
  /** Bytes per tick at four times the clients: equal when nothing is allocated per client. */
  bytesPerTickAtFourTimesClients: number;
  /** Extra bytes per client per send, from the two runs (0 means none). */
  bytesPerClientPerSend: number;
}

const maxTimeS = Number(process.argv[2] ?? 2);
const small = await fanoutAllocation(1000, 1000);
const large = await fanoutAllocation(4000, 1000);
const allocation: AllocationReport = {
  ...small,
  bytesPerTickAtFourTimesClients: large.bytesPerTick,
  bytesPerClientPerSend: Math.max(0, (large.bytesPerTick - small.bytesPerTick) / (large.clients - small.clients)),
};
const micro = await microSuites(maxTimeS);
process.stdout.write(`${JSON.stringify({ micro, allocation })}\n`);
