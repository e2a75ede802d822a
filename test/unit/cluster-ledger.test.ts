// The service-wide client limits the primary keeps with --workers N (src/cluster/ledger.ts),
// and the --workers count.
import { describe, expect, it } from 'vitest';
import { ClientLedger } from '../../src/cluster/ledger.js';
import { fanoutCount } from '../../src/cluster/workers.js';
import { ConfigError } from '../../src/config.js';

describe('ClientLedger', () => {
  it('holds --max-clients and --max-connections-per-ip over every process, capacity first', () => {
    const ledger = new ClientLedger({ maxClients: 3, maxPerAddress: 2 });
    expect(ledger.reserve(1, 'a')).toBeNull();
    expect(ledger.reserve(2, 'a')).toBeNull();
    expect(ledger.reserve(1, 'a')).toMatchObject({ status: 429, reason: 'address_limit' });
    expect(ledger.reserve(2, 'b')).toBeNull();
    expect(ledger.reserve(1, 'c')).toMatchObject({ status: 503, reason: 'capacity' });
    expect(ledger.reserve(1, 'a')).toMatchObject({ status: 503, reason: 'capacity' });
    expect([ledger.clients, ledger.clientsOf(1), ledger.clientsOf(2)]).toEqual([3, 1, 2]);
    ledger.release(2, 'a');
    expect(ledger.reserve(1, 'a')).toBeNull();
  });

  it('gives back every place of a process that is gone, and ignores a release it does not hold', () => {
    const ledger = new ClientLedger({ maxClients: 10, maxPerAddress: 0 });
    for (let i = 0; i < 4; i++) ledger.reserve(1, `x${i % 2}`);
    ledger.reserve(2, 'x0');
    ledger.release(2, 'nobody');
    ledger.release(3, 'x0');
    expect(ledger.clients).toBe(5);
    ledger.drop(1);
    expect([ledger.clients, ledger.clientsOf(1), ledger.clientsOf(2)]).toEqual([1, 0, 1]);
    ledger.release(1, 'x0');
    expect(ledger.clients).toBe(1);
  });
});

describe('fanoutCount', () => {
  it('takes a count from 1 to 256, or auto as the CPUs available', () => {
    expect(fanoutCount('1', '--workers')).toBe(1);
    expect(fanoutCount('256', '--workers')).toBe(256);
    expect(fanoutCount('auto', '--workers', () => 6)).toBe(6);
    expect(fanoutCount('auto', '--workers', () => 1000)).toBe(256);
    expect(() => fanoutCount('257', 'WIRECAM_WORKERS')).toThrow(ConfigError);
    expect(() => fanoutCount('0', '--workers')).toThrow('--workers: expected a count of processes from 1 to 256, or auto, got "0"');
  });
});
