// The service-wide client limits with --workers N, kept in the primary: every fanout process
// asks here for a place before it completes an upgrade, and gives it back when the client is
// gone. The counts are kept per process, so a process that dies gives back all of its places
// at once. Bounded: one entry per process and per address holding a client.
import type { Refusal } from '../server/refusal.js';

/** The limits: `maxClients` (--max-clients), `maxPerAddress` (--max-connections-per-ip, 0: none). */
export interface LedgerLimits {
  maxClients: number;
  maxPerAddress: number;
}

/** The same answers, in the same order, as a single process's admission (src/server/upgrade.ts). */
const AT_CAPACITY: Refusal = { status: 503, reason: 'capacity', message: 'client limit reached, try again later' };
const AT_ADDRESS_LIMIT: Refusal = { status: 429, reason: 'address_limit', message: 'too many connections from this address' };

/**
 * The primary's count of client places, for --max-clients and --max-connections-per-ip across
 * every fanout process: in total, per address, and per process (so that a process that dies
 * gives all of its places back at once). Checks in the same order as a single process's
 * admission: capacity (503) first, then the address (429).
 */
export class ClientLedger {
  private total = 0;
  private readonly perAddress = new Map<string, number>();
  /** Places held, by process (cluster worker id), then address. */
  private readonly perProcess = new Map<number, Map<string, number>>();

  constructor(private readonly limits: LedgerLimits) {}

  /** Clients over every process. */
  get clients(): number {
    return this.total;
  }

  /** Clients process `owner` holds. */
  clientsOf(owner: number): number {
    let count = 0;
    for (const n of this.perProcess.get(owner)?.values() ?? []) count += n;
    return count;
  }

  /** A place for a client of `owner` from `address`: null when granted (and counted), else the refusal. */
  reserve(owner: number, address: string): Refusal | null {
    if (this.total >= this.limits.maxClients) return AT_CAPACITY;
    const fromAddress = this.perAddress.get(address) ?? 0;
    if (this.limits.maxPerAddress > 0 && fromAddress >= this.limits.maxPerAddress) return AT_ADDRESS_LIMIT;
    this.total++;
    this.perAddress.set(address, fromAddress + 1);
    let held = this.perProcess.get(owner);
    if (held === undefined) this.perProcess.set(owner, (held = new Map()));
    held.set(address, (held.get(address) ?? 0) + 1);
    return null;
  }

  /** Gives back one place of `owner` from `address`; one it does not hold is ignored. */
  release(owner: number, address: string): void {
    const held = this.perProcess.get(owner);
    const count = held?.get(address) ?? 0;
    if (held === undefined || count === 0) return;
    if (count > 1) held.set(address, count - 1);
    else held.delete(address);
    this.remove(address, 1);
  }

  /** Process `owner` is gone: every place it held is given back. */
  drop(owner: number): void {
    const held = this.perProcess.get(owner);
    if (held === undefined) return;
    this.perProcess.delete(owner);
    for (const [address, count] of held) this.remove(address, count);
  }

  private remove(address: string, count: number): void {
    this.total -= count;
    const left = (this.perAddress.get(address) ?? 0) - count;
    if (left > 0) this.perAddress.set(address, left);
    else this.perAddress.delete(address);
  }
}
